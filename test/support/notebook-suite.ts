/**
 * The notebook tests, shared by test/notebooks-*.test.ts (split so vitest's two workers share the
 * work): each notebook executed top to bottom through Jupyter (nbclient + the project's tslab
 * kernel) in fast mode, as `npm run lessons` does, then each code cell re-run once; then the
 * exported pages, opened offline in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import type { Browser } from "playwright-core";
import { runNotebooks } from "../../scripts/run-lessons";
import { BUILD_DIR, listNotebooks } from "../../scripts/lessons";
import { buildSite } from "../../scripts/lesson-site";
import { chromiumPath, isolatedContext, launchChromium, watch } from "./browser";

export function notebookSuite(group: string, filters: string[]): void {
  const OUT = path.join(BUILD_DIR, "test-lessons", group);
  const notebooks = listNotebooks(filters);

  // Then each code cell once more, in order, as a learner re-running cells does (the exported
  // copy holds the re-run's outputs): a cell that fails the second time fails here, "(re-run)".
  describe.each(notebooks.map((p) => [path.basename(p), p]))("notebook %s", (name, notebook) => {
    it("runs top to bottom in fast mode, every code cell runs again without error, and it exports HTML", async () => {
      const env = { LESSON4_MODE: "fast" };
      const { status, output } = await runNotebooks({
        notebooks: [notebook],
        outDir: OUT,
        quiet: true,
        rerun: true,
        env,
      });
      expect(output, output).toMatch(/1 passed, 0 failed/);
      expect(status).toBe(0);
      // Re-running every cell replaces what each made: as many live tfjs tensors as after the run.
      const counts = /tensors after the run (\d+), after the re-run (\d+)/.exec(output);
      expect(counts, output).not.toBeNull();
      const [afterRun, afterRerun] = [Number(counts![1]), Number(counts![2])];
      expect(
        afterRerun,
        `${name}: live tensors after the run ${afterRun}, after the re-run ${afterRerun}`,
      ).toBe(afterRun);
      const executed = JSON.parse(fs.readFileSync(path.join(OUT, name), "utf8"));
      const errors = executed.cells.flatMap((c: { outputs?: Array<{ output_type: string }> }) =>
        (c.outputs ?? []).filter((o) => o.output_type === "error"),
      );
      expect(errors).toEqual([]);
      expect(fs.existsSync(path.join(OUT, name.replace(".ipynb", ".html")))).toBe(true);
    }, 900_000);
  });

  // After every lesson above has run (tests in a file run in order): the real exported pages,
  // opened offline in Chromium, draw every chart and log no console errors.
  describe("the exported lessons, offline in Chromium", () => {
    const executable = chromiumPath();
    let browser: Browser | undefined;
    beforeAll(async () => {
      if (!executable) return;
      buildSite(OUT);
      browser = await launchChromium(executable);
    });
    afterAll(async () => {
      await browser?.close();
    });

    const names = notebooks.map((p) => path.basename(p, ".ipynb"));
    it.for(names)(
      "%s.html draws its charts and logs no errors",
      { timeout: 120_000 },
      async (name, ctx) => {
        const page_ = path.join(OUT, `${name}.html`);
        if (!browser) return ctx.skip(); // setup could not install Chromium; it said so
        expect(
          fs.existsSync(page_),
          `${name}.html was not exported (its notebook test failed?)`,
        ).toBe(true);
        const { context, outside } = await isolatedContext(browser, [`file://${OUT}/`]);
        const page = await context.newPage();
        const problems = watch(page, outside);
        await page.goto(`file://${page_}`, { waitUntil: "load" });
        const charts = page.locator(".lesson4-plot");
        for (let i = 0; i < (await charts.count()); i++) {
          await charts.nth(i).locator("svg.main-svg").first().waitFor({ timeout: 30_000 });
          const marks = charts
            .nth(i)
            .locator(
              ".scatterlayer path.point, .scatterlayer path.js-line, .heatmaplayer image, .barlayer path, .contourlayer path, .scatter3d, .gl-container canvas, .scatterlayer text",
            );
          expect(await marks.count(), `${name} chart ${i} drew nothing`).toBeGreaterThan(0);
        }
        const images = await page
          .locator(".jp-OutputArea-output img")
          .evaluateAll((els) =>
            els.map(
              (e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0,
            ),
          );
        expect(images.every(Boolean), `${name}: an image did not load`).toBe(true);
        expect(await page.locator("nav.lesson4-nav.top").count()).toBe(1);
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
}
