/**
 * The HTML lessons as a site, opened offline in Debian's Chromium: its own small set (the setup
 * check and two generated notebooks) is executed and exported like `npm run lessons` does, then
 * every page must draw its charts, show its images, log no console errors, request nothing from
 * outside, and have a working table of contents and previous/next links; the index lists each
 * lesson with summary, data, status and run time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import type { Browser } from "playwright-core";
import { runNotebooks } from "../scripts/run-lessons";
import { buildSite, headings, readLessons, describeNotebook } from "../scripts/lesson-site";
import { BUILD_DIR, ROOT, listNotebooks } from "../scripts/lessons";
import { chromiumPath, isolatedContext, launchChromium, watch } from "./support/browser";

const BASE = path.join(BUILD_DIR, "test-site");
const SRC = path.join(BASE, "src");
const OUT = path.join(BASE, "out");

type Cell = { cell_type: "markdown" | "code"; source: string };
function notebook(cells: Cell[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: "lesson4-ts",
        display_name: "TypeScript (lesson4-ts)",
        language: "typescript",
      },
    },
    cells: cells.map((c, i) => ({
      id: `c${i}`,
      cell_type: c.cell_type,
      metadata: {},
      source: c.source,
      ...(c.cell_type === "code" ? { outputs: [], execution_count: null } : {}),
    })),
  });
}

/** Two small lessons: one with a data line, a chart, an image and a table; one with none of them. */
function writeFixtures(): string[] {
  fs.rmSync(BASE, { recursive: true, force: true });
  fs.mkdirSync(SRC, { recursive: true });
  fs.symlinkSync(path.join(ROOT, "lib"), path.join(SRC, "lib"));
  const first = path.join(SRC, "01-site-first.ipynb");
  fs.writeFileSync(
    first,
    notebook([
      {
        cell_type: "markdown",
        source:
          "# Site fixture one\n\nA generated page for the *site* test. It has a chart, an image and a table.\n\nA second paragraph.",
      },
      {
        cell_type: "code",
        source:
          'import { plot, markdown, table, image } from "./lib/display/index";\nimport sharp from "sharp";\nconst points = [3, 1, 4, 1, 5];\nmarkdown(`**Data:** generated, ${points.length} points`);',
      },
      { cell_type: "markdown", source: "## A chart\n\nFive points." },
      {
        cell_type: "code",
        source:
          'plot({ data: [{ x: points.map((_, i) => i), y: points, mode: "lines+markers" }] });',
      },
      { cell_type: "markdown", source: "## An image & a table\n\n### The image" },
      {
        cell_type: "code",
        source:
          'await image(await sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer(), { caption: "red" });',
      },
      { cell_type: "markdown", source: "### The table" },
      { cell_type: "code", source: "table(points.map((y, x) => ({ x, y })));" },
    ]),
  );
  const second = path.join(SRC, "02-site-second.ipynb");
  fs.writeFileSync(
    second,
    notebook([
      {
        cell_type: "markdown",
        source: "# Site fixture two\n\nNo data line, no chart.\n\n## Only section",
      },
      { cell_type: "code", source: 'console.log("two");' },
    ]),
  );
  return [first, second];
}

describe("lesson-site helpers", () => {
  it("takes title, first paragraph and the **Data:** line from an executed notebook", () => {
    const nb = {
      cells: [
        {
          cell_type: "markdown",
          source: [
            "# The title\n",
            "\n",
            "First [paragraph](x.html) with `code`.\n",
            "\n",
            "Second.",
          ],
        },
        {
          cell_type: "code",
          source: "",
          outputs: [
            { output_type: "stream", text: "hello\n" },
            {
              output_type: "display_data",
              data: { "text/markdown": "**Data:** MovieLens from *sources*" },
            },
          ],
        },
      ],
    };
    expect(describeNotebook(nb, "fallback")).toEqual({
      title: "The title",
      summary: "First paragraph with code.",
      data: "MovieLens from sources",
    });
    expect(describeNotebook({ cells: [{ cell_type: "code", source: "" }] }, "fallback")).toEqual({
      title: "fallback",
      summary: "",
      data: null,
    });
  });

  it("lists section headings with their anchors, not the title", () => {
    const html =
      '<h1 id="T">T<a class="anchor-link" href="#T">&#182;</a></h1><h2 id="A-b">A &amp; b<a class="anchor-link" href="#A-b">&#182;</a></h2><h4 id="deep">deep</h4>';
    expect(headings(html)).toEqual([{ level: 2, id: "A-b", html: "A &amp; b" }]);
  });
});

describe("the HTML lessons as a site, offline in Chromium", () => {
  const executable = chromiumPath();
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!executable) return;
    const [setupCheck] = listNotebooks(["00-setup-check"]);
    const run = await runNotebooks({
      notebooks: [setupCheck, ...writeFixtures()],
      outDir: OUT,
      quiet: true,
      env: { LESSON4_MODE: "fast" },
    });
    if (run.status !== 0) throw new Error(`the site's notebooks failed:\n${run.output}`);
    buildSite(OUT);
    browser = await launchChromium(executable);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("index.html lists each lesson with summary, data used, status and run time", async (ctx) => {
    if (!browser) return ctx.skip(); // setup could not install Chromium; it said so
    const lessons = readLessons(OUT);
    expect(lessons.map((l) => l.name)).toEqual([
      "00-setup-check",
      "01-site-first",
      "02-site-second",
    ]);
    const { context, outside } = await isolatedContext(browser, [`file://${OUT}/`]);
    const page = await context.newPage();
    const problems = watch(page, outside);
    await page.goto(`file://${path.join(OUT, "index.html")}`);
    const rows = page.locator("table.lessons tbody tr");
    expect(await rows.count()).toBe(3);
    const first = rows.nth(1);
    expect(await first.locator("a").textContent()).toBe("Site fixture one");
    expect(await first.locator(".summary").textContent()).toBe(
      "A generated page for the site test. It has a chart, an image and a table.",
    );
    expect(await first.locator(".data").textContent()).toBe("generated, 5 points");
    expect(await first.locator(".status").textContent()).toBe("ran");
    expect(await first.locator(".seconds").textContent()).toMatch(/^\d+\.\d s$/);
    expect(await rows.nth(2).locator(".data").textContent()).toBe("—");
    await first.locator("a").click();
    await page.waitForURL(/01-site-first\.html$/);
    expect(problems).toEqual({
      consoleErrors: [],
      pageErrors: [],
      failedRequests: [],
      outside: [],
    });
    await context.close();
  });

  it.for(["00-setup-check", "01-site-first", "02-site-second"])(
    "%s.html: charts drawn, images shown, contents and links work, no console errors",
    async (name, ctx) => {
      if (!browser) return ctx.skip();
      const { context, outside } = await isolatedContext(browser, [`file://${OUT}/`]);
      const page = await context.newPage();
      const problems = watch(page, outside);
      await page.goto(`file://${path.join(OUT, `${name}.html`)}`, { waitUntil: "load" });

      // Every chart is drawn: an SVG with at least one plotted line or point per chart.
      const charts = await page.locator(".lesson4-plot").count();
      for (let i = 0; i < charts; i++) {
        const chart = page.locator(".lesson4-plot").nth(i);
        await chart.locator("svg.main-svg").first().waitFor({ timeout: 30_000 });
        expect(
          await chart
            .locator(
              ".scatterlayer path.point, .scatterlayer path.js-line, .heatmaplayer image, .barlayer path, .contourlayer path",
            )
            .count(),
          `chart ${i}`,
        ).toBeGreaterThan(0);
      }
      // Every image is loaded and has a size.
      const images = await page.locator(".jp-OutputArea-output img").evaluateAll((els) =>
        els.map((e) => ({
          complete: (e as HTMLImageElement).complete,
          width: (e as HTMLImageElement).naturalWidth,
        })),
      );
      for (const img of images) {
        expect(img.complete).toBe(true);
        expect(img.width).toBeGreaterThan(0);
      }

      if (name === "00-setup-check") {
        expect(charts).toBe(1);
        expect(await page.locator(".lesson4-plot .scatterlayer path.point").count()).toBe(11); // one marker per x in the first trace
        expect(await page.locator(".lesson4-plot .scatterlayer path.js-line").count()).toBe(2);
        expect(await page.locator("table.dataframe tbody tr").count()).toBe(11);
      }
      if (name === "01-site-first") {
        expect(charts).toBe(1);
        expect(await page.locator(".lesson4-plot .scatterlayer path.point").count()).toBe(5);
        expect(images).toHaveLength(1);
        expect(await page.locator("table.dataframe tbody tr").count()).toBe(5);
      }
      if (name === "02-site-second") expect(charts).toBe(0);

      // The table of contents lists the section headings, and each entry scrolls to its heading.
      const toc = page.locator("nav.lesson4-toc a");
      const entries = await toc.count();
      expect(entries).toBeGreaterThan(0);
      if (name === "01-site-first")
        expect(await toc.allTextContents()).toEqual([
          "A chart",
          "An image & a table",
          "The image",
          "The table",
        ]);
      for (let i = 0; i < entries; i++) {
        const href = (await toc.nth(i).getAttribute("href"))!;
        const target = page.locator(`[id="${decodeURIComponent(href.slice(1))}"]`);
        expect(await target.count(), href).toBe(1);
        await toc.nth(i).click();
        expect(new URL(page.url()).hash).toBe(href);
        // scrolled into view (at the top, unless the page ends first)
        await expect
          .poll(() =>
            target.evaluate((el) => {
              const top = el.getBoundingClientRect().top;
              return (
                top >= -1 &&
                top < window.innerHeight - 20 &&
                (top < 50 ||
                  window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2)
              );
            }),
          )
          .toBe(true);
      }
      await page.screenshot({ path: path.join(BASE, `${name}.png`), fullPage: false });

      // Previous/next links go to the neighbouring lessons; the title is the lesson's.
      const order = ["00-setup-check", "01-site-first", "02-site-second"];
      const i = order.indexOf(name);
      expect(await page.title()).toMatch(/ · lesson4-ts$/);
      for (const [rel, other] of [
        ["prev", order[i - 1]],
        ["next", order[i + 1]],
      ] as const) {
        const link = page.locator(`nav.lesson4-nav.top a[rel="${rel}"]`);
        expect(await link.count()).toBe(other ? 1 : 0);
        expect(await page.locator(`nav.lesson4-nav.bottom a[rel="${rel}"]`).count()).toBe(
          other ? 1 : 0,
        );
        if (other) expect(await link.getAttribute("href")).toBe(`${other}.html`);
      }
      const next = order[i + 1];
      if (next) {
        await page.locator('nav.lesson4-nav.bottom a[rel="next"]').click();
        await page.waitForURL(new RegExp(`${next}\\.html$`));
      }
      expect(problems).toEqual({
        consoleErrors: [],
        pageErrors: [],
        failedRequests: [],
        outside: [],
      });
      await context.close();
    },
  );
});
