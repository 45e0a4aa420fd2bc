/**
 * Every notebook, executed top to bottom through Jupyter (nbclient + the project's tslab kernel)
 * in fast mode, exactly as `npm run lessons` does, then each code cell re-run once; and notebooks
 * that fail on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { runNotebooks, type NotebookResult } from "../scripts/run-lessons";
import { spawnSync } from "child_process";
import { BUILD_DIR, ROOT, listNotebooks } from "../scripts/lessons";
import { buildSite } from "../scripts/lesson-site";
import type { Browser } from "playwright-core";
import { chromiumPath, isolatedContext, launchChromium, watch } from "./support/browser";

const OUT = path.join(BUILD_DIR, "test-lessons");

function results(summary: string): NotebookResult[] {
  return JSON.parse(fs.readFileSync(path.join(OUT, summary), "utf8"));
}

describe("the runner", () => {
  it("fails a notebook on its first failing cell, naming notebook, cell and error", async () => {
    const fixture = path.join(__dirname, "fixtures", "failing.ipynb");
    const { status, output } = await runNotebooks({ notebooks: [fixture], outDir: OUT, quiet: true, env: { LESSON4_MODE: "fast" } });
    expect(status).toBe(1);
    expect(output).toMatch(/FAILED .*failing\.ipynb cell 2: Error: deliberate failure in the second code cell/);
    const [result] = results("summary.json");
    expect(result.status).toBe("failed");
    expect(result.error?.cell).toBe(2);
    const executed = JSON.parse(fs.readFileSync(path.join(OUT, "failing.ipynb"), "utf8"));
    expect(JSON.stringify(executed.cells[1].outputs)).toContain("first cell ran 42");
    expect(executed.cells[3].outputs).toEqual([]);
    expect(fs.readFileSync(path.join(OUT, "failing.html"), "utf8")).toContain("deliberate failure");
  }, 180_000);

  it("a bad setting stops `npm run lessons` with the message alone, no stack trace", () => {
    const run = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "scripts", "run-lessons.ts")], {
      env: { ...process.env, LESSON4_MODE: "turbo" }, encoding: "utf8", timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('npm run lessons: LESSON4_MODE="turbo" is not valid: LESSON4_MODE must be one of "fast", "full".');
  }, 60_000);

  it("fails a cell that never replies after LESSON4_CELL_TIMEOUT, naming notebook and cell, and goes on", async () => {
    const dir = fs.mkdtempSync(path.join(BUILD_DIR, "stuck-"));
    const cell = (source: string) => ({ cell_type: "code", metadata: {}, source, outputs: [], execution_count: null });
    const notebook = {
      nbformat: 4, nbformat_minor: 5, cells: [cell("6 * 7"), cell("await new Promise(() => undefined); // never settles")],
      metadata: { kernelspec: { name: "lesson4-ts", display_name: "TypeScript (lesson4-ts)", language: "typescript" } },
    };
    const stuck = path.join(dir, "stuck.ipynb");
    fs.writeFileSync(stuck, JSON.stringify(notebook));
    const fixture = path.join(__dirname, "fixtures", "failing.ipynb");
    const env = { LESSON4_MODE: "fast", LESSON4_CELL_TIMEOUT: "15" };
    const { status, output } = await runNotebooks({ notebooks: [stuck, fixture], outDir: dir, quiet: true, env });
    expect(status).toBe(1);
    expect(output).toMatch(/FAILED .*stuck\.ipynb cell 1: CellTimeoutError: no reply from the kernel within 15 s \(the cell starts: 'await new Promise/);
    expect(output).toMatch(/FAILED .*failing\.ipynb cell 2/); // the next notebook still ran
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

describe.each(listNotebooks().map((p) => [path.basename(p), p]))("notebook %s", (name, notebook) => {
  // Then each code cell once more, in order, as a learner re-running cells does (the exported
  // copy holds the re-run's outputs): a cell that fails the second time fails here, "(re-run)".
  it("runs top to bottom in fast mode, every code cell runs again without error, and it exports HTML", async () => {
    const { status, output } = await runNotebooks({ notebooks: [notebook], outDir: OUT, quiet: true, rerun: true, env: { LESSON4_MODE: "fast" } });
    expect(output, output).toMatch(/1 passed, 0 failed/);
    expect(status).toBe(0);
    expect(output).toMatch(/tensors after the run \d+, after the re-run \d+/);
    const executed = JSON.parse(fs.readFileSync(path.join(OUT, name), "utf8"));
    const errors = executed.cells.flatMap((c: { outputs?: Array<{ output_type: string }> }) => (c.outputs ?? []).filter((o) => o.output_type === "error"));
    expect(errors).toEqual([]);
    expect(fs.existsSync(path.join(OUT, name.replace(".ipynb", ".html")))).toBe(true);
  }, 900_000);
});

// After every lesson above has run (tests in a file run in order): the real exported pages,
// opened offline in Chromium, draw every chart and log no console errors.
describe("the exported lessons, offline in Chromium", () => {
  const executable = chromiumPath();
  let browser: Browser | undefined;
  // Runs when this suite starts, after every notebook above has been exported.
  beforeAll(async () => {
    if (!executable) return;
    buildSite(OUT);
    browser = await launchChromium(executable);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.for(listNotebooks().map((p) => path.basename(p, ".ipynb")))("%s.html draws its charts and logs no errors", { timeout: 120_000 }, async (name, ctx) => {
    const page_ = path.join(OUT, `${name}.html`);
    if (!browser) return ctx.skip(); // setup could not install Chromium; it said so
    expect(fs.existsSync(page_), `${name}.html was not exported (its notebook test failed?)`).toBe(true);
    const { context, outside } = await isolatedContext(browser, [`file://${OUT}/`]);
    const page = await context.newPage();
    const problems = watch(page, outside);
    await page.goto(`file://${page_}`, { waitUntil: "load" });
    const charts = page.locator(".lesson4-plot");
    for (let i = 0; i < (await charts.count()); i++) {
      await charts.nth(i).locator("svg.main-svg").first().waitFor({ timeout: 30_000 });
      const marks = charts.nth(i).locator(".scatterlayer path.point, .scatterlayer path.js-line, .heatmaplayer image, .barlayer path, .contourlayer path, .scatter3d, .gl-container canvas, .scatterlayer text");
      expect(await marks.count(), `${name} chart ${i} drew nothing`).toBeGreaterThan(0);
    }
    const images = await page.locator(".jp-OutputArea-output img").evaluateAll((els) => els.map((e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0));
    expect(images.every(Boolean), `${name}: an image did not load`).toBe(true);
    expect(await page.locator("nav.lesson4-nav.top").count()).toBe(1);
    expect(problems).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [], outside: [] });
    await context.close();
  });
});
