/**
 * The notebooks the way a person meets them: the project's Jupyter server (the same start-up as
 * `npm start`) on 127.0.0.1 with a token, Debian's Chromium driving its UI (JupyterLab where
 * installed, else the classic Notebook). Runs all cells of the setup check and a lesson through
 * the menus, then checks errors, interrupts and restarts from the UI. Works on copies in build/,
 * so the committed notebooks stay cleared; screenshots go to build/test-browser/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startJupyter, type JupyterServer } from "../scripts/start-jupyter";
import { BUILD_DIR, NOTEBOOK_DIR, ROOT, projectEnv } from "../scripts/lessons";
import {
  chromiumPath,
  isolatedContext,
  launchChromium,
  watch,
  type PageProblems,
} from "./support/browser";
import { driverFor, type FrontEndDriver } from "./support/browser-ui";
import { freePort } from "./support/ports";

const SHOTS = path.join(BUILD_DIR, "test-browser");
const WORK = path.join(SHOTS, "ui-notebooks");
const LAB_USER = path.join(SHOTS, "lab-user");
const SETUP_CHECK = "00-setup-check.ipynb";
/** Run All, export from the File menu, restart and Run All again. */
const CONCEPT = "06-collaborative-filtering-concept.ipynb";
/** The lessons with try-it cells the learner's loop is tried on. */
const SHEETS = "02-gradient-descent-in-excel.ipynb";
const TRY_IT = "07-collaborative-filtering-keras.ipynb";
const LESSONS = [SETUP_CHECK, CONCEPT, SHEETS, TRY_IT];
const EXPORTS = path.join(SHOTS, "exported");

const PROBE_CELLS = [
  "// a type error on line 2\nconst label: string = 42;",
  "const answer = 6 * 7;\nthrow new Error(`deliberate failure, answer ${answer}`);",
  "let spins = 0;\nconst started = Date.now();\nwhile (Date.now() - started < 300_000) spins++;",
  "for (let i = 0; i < 3000; i++) await new Promise((r) => setTimeout(r, 100));",
  [
    'import { initBackend, tf } from "./lib/engine/backend";',
    "await initBackend();",
    'const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 16, activation: "relu" }), tf.layers.dense({ units: 1 })] });',
    'model.compile({ optimizer: "adam", loss: "meanSquaredError" });',
    "const xs = tf.randomNormal([512, 8]);",
    "const ys = xs.sum(1, true);",
    "let epochsDone = 0;",
  ].join("\n"),
  // An interrupted cell adds no declarations (as in tslab), so the model lives in the cell above.
  "await model.fit(xs, ys, { epochs: 100000, batchSize: 32, verbose: 0, callbacks: { onEpochEnd: async () => { epochsDone++; } } });",
  'const out = model.predict(tf.ones([1, 8])) as tf.Tensor;\n`trained ${epochsDone > 0 ? "some" : "no"} epochs; prediction finite: ${Number.isFinite(out.dataSync()[0])}`',
  "40 + 2",
];

function probeNotebook(): string {
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
    cells: PROBE_CELLS.map((source, i) => ({
      id: `p${i}`,
      cell_type: "code",
      metadata: {},
      source,
      outputs: [],
      execution_count: null,
    })),
  });
}

/** The copies the browser works on: the lessons, a probe notebook, and the lib link the notebooks import through. */
function prepareWorkspace(): void {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  fs.symlinkSync(path.join(ROOT, "lib"), path.join(WORK, "lib"));
  // Each test gets its own copy: the front end autosaves, and a notebook's kernel outlives its page.
  for (const name of LESSONS) fs.copyFileSync(path.join(NOTEBOOK_DIR, name), path.join(WORK, name));
  fs.rmSync(EXPORTS, { recursive: true, force: true });
  fs.mkdirSync(EXPORTS, { recursive: true });
  fs.writeFileSync(path.join(WORK, "probe.ipynb"), probeNotebook());
  // JupyterLab's user settings and workspaces for this run only (not the user's ~/.jupyter), with
  // its news pop-up off: a fresh Lab asks whether to fetch news, which covers part of the page.
  fs.rmSync(LAB_USER, { recursive: true, force: true });
  const notification = path.join(LAB_USER, "settings", "@jupyterlab", "apputils-extension");
  fs.mkdirSync(notification, { recursive: true });
  fs.writeFileSync(
    path.join(notification, "notification.jupyterlab-settings"),
    JSON.stringify({ fetchNews: "false" }),
  );
  // Every cell kept in the page (Lab 4 leaves cells far from view unrendered), so the test can
  // read every prompt and output.
  const tracker = path.join(LAB_USER, "settings", "@jupyterlab", "notebook-extension");
  fs.mkdirSync(tracker, { recursive: true });
  fs.writeFileSync(
    path.join(tracker, "tracker.jupyterlab-settings"),
    JSON.stringify({ windowingMode: "none" }),
  );
  process.env.JUPYTERLAB_SETTINGS_DIR = path.join(LAB_USER, "settings");
  process.env.JUPYTERLAB_WORKSPACES_DIR = path.join(LAB_USER, "workspaces");
}

const env = projectEnv();
const executable = chromiumPath();
const ready = Boolean(env.frontEnd && executable);

describe.runIf(ready)(
  `notebooks in the ${env.frontEnd === "lab" ? "JupyterLab" : "classic Notebook"} UI, in Chromium`,
  () => {
    const driver: FrontEndDriver = driverFor(env.frontEnd ?? "notebook");
    const originals = new Map(
      LESSONS.map((n) => [n, fs.readFileSync(path.join(NOTEBOOK_DIR, n), "utf8")]),
    );
    let server: JupyterServer | undefined;
    let browser: Browser | undefined;
    let context: BrowserContext;
    let outside: string[];
    let serverLog = "";

    beforeAll(async () => {
      prepareWorkspace();
      server = await startJupyter({
        port: await freePort(),
        token: randomBytes(12).toString("hex"),
        notebookDir: WORK,
        log: (t) => (serverLog += t),
      });
      browser = await launchChromium(executable!);
      ({ context, outside } = await isolatedContext(browser, [server.baseUrl]));
    }, 180_000);

    afterAll(async () => {
      await browser?.close().catch(() => undefined);
      await server?.stop();
      // The committed notebooks were never written to, and still have no outputs.
      for (const [name, text] of originals) {
        expect(fs.readFileSync(path.join(NOTEBOOK_DIR, name), "utf8"), name).toBe(text);
        const nb = JSON.parse(text) as { cells: Array<{ outputs?: unknown[] }> };
        expect(
          nb.cells.every((c) => !c.outputs?.length),
          `${name} is committed cleared`,
        ).toBe(true);
      }
    }, 60_000);

    async function open(file: string): Promise<{ page: Page; problems: PageProblems }> {
      const page = await context.newPage();
      const problems = watch(page, outside);
      await page.goto(driver.notebookUrl(server!.baseUrl, file, server!.token));
      await driver.waitForKernel(page);
      expect(await driver.kernelName(page)).toBe("TypeScript (lesson4-ts)");
      return { page, problems };
    }

    /** On a failure, the server's (and so the kernel's) last log lines, to tell a lost reply from a slow cell. */
    function serverLogTail(): void {
      console.error(
        `Jupyter server log, last lines:\n${serverLog.split("\n").slice(-60).join("\n")}`,
      );
    }

    async function shot(page: Page, name: string): Promise<void> {
      await page.screenshot({
        path: path.join(SHOTS, `ui-${driver.name}-${name}.png`),
        fullPage: true,
      });
    }

    async function expectDrawnCharts(page: Page): Promise<number> {
      const charts = page.locator(".lesson4-plot");
      // The last cell's output (a chart with plotly.js embedded, megabytes) can land just after the kernel goes idle.
      await expect.poll(() => charts.count(), { timeout: 30_000 }).toBeGreaterThan(0);
      const n = await charts.count();
      for (let i = 0; i < n; i++) {
        await charts.nth(i).locator("svg.main-svg").first().waitFor({ timeout: 30_000 });
        const marks = await charts
          .nth(i)
          .locator(
            ".scatterlayer path.point, .scatterlayer path.js-line, .heatmaplayer image, .barlayer path",
          )
          .count();
        expect(marks, `chart ${i} has drawn marks`).toBeGreaterThan(0);
      }
      return n;
    }

    it(`${SETUP_CHECK}: Run All from the menu draws the chart and the table, with no error output`, async () => {
      const file = SETUP_CHECK;
      const { page, problems } = await open(file);
      try {
        await driver.runAll(page);
        await driver.waitUntilAllRan(page, 240_000);
        expect(await driver.errorOutputs(page).allInnerTexts()).toEqual([]);
        expect(await expectDrawnCharts(page)).toBeGreaterThan(0);
        expect(
          await page.locator(".lesson4-plot .scatterlayer path.point").count(),
        ).toBeGreaterThan(0); // an SVG with points
        expect(await page.locator("table.dataframe tbody tr").count()).toBeGreaterThan(0);
        expect(problems.pageErrors).toEqual([]);
        expect(outside).toEqual([]);
      } finally {
        await shot(page, file.replace(".ipynb", ""));
        await page.close();
      }
    }, 300_000);

    /** Replaces the text of code cell `index` in its editor, as a person would, and runs it (Shift-Enter). */
    async function editAndRun(page: Page, index: number, text: string): Promise<void> {
      await driver.codeCells(page).nth(index).locator(".jp-InputArea-editor .cm-content").click();
      await page.keyboard.press("Control+A");
      await page.keyboard.insertText(text);
      await page.keyboard.press("Shift+Enter");
    }

    /**
     * 06's widget: its learning-rate slider moved with the keyboard, as a person can; the kernel
     * runs the gradient descent again and the chart below the controls redraws. Returns the rate
     * the slider shows.
     */
    async function moveTheSlider(page: Page): Promise<string> {
      const sources = await driver.codeCells(page).locator(".jp-InputArea-editor").allInnerTexts();
      const cell = sources.findIndex((text) => text.includes("await interact("));
      expect(cell, "06's widget cell").toBeGreaterThan(0);
      const area = driver.outputs(page, cell);
      const readout = area.locator(".widget-readout").first();
      const chart = area.locator(".widget-output .lesson4-plot").first();
      const curve = () =>
        chart.evaluate((el) =>
          JSON.stringify((el as unknown as { data?: Array<{ y?: unknown }> }).data?.[0]?.y ?? null),
        );
      await expect.poll(curve, { timeout: 30_000 }).not.toBe("null");
      const [rateBefore, curveBefore] = [await readout.innerText(), await curve()];
      await area.locator(".noUi-handle").first().focus();
      for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
      await expect.poll(() => readout.innerText()).not.toBe(rateBefore);
      // The kernel re-ran the gradient descent: another curve, and the text names the new rate.
      await expect.poll(curve, { timeout: 60_000 }).not.toBe(curveBefore);
      const rate = await readout.innerText();
      await expect
        .poll(() => area.locator(".widget-output").innerText(), { timeout: 30_000 })
        .toContain(rate);
      expect(await driver.errorOutputs(page).count()).toBe(0);
      return rate;
    }

    /** Opens an exported page offline (only its own file: URL allowed) and checks its charts drew. */
    async function expectOfflinePage(
      file: string,
      more?: (page: Page) => Promise<void>,
    ): Promise<void> {
      const offline = await isolatedContext(browser!, [`file://${path.dirname(file)}/`]);
      const page = await offline.context.newPage();
      const problems = watch(page, offline.outside);
      try {
        await page.goto(`file://${file}`, { waitUntil: "load" });
        expect(await expectDrawnCharts(page)).toBeGreaterThan(0);
        expect(await page.locator("table.dataframe tbody tr").count()).toBeGreaterThan(0);
        await more?.(page);
        expect(problems.pageErrors).toEqual([]);
        expect(problems.consoleErrors).toEqual([]);
        expect(offline.outside).toEqual([]);
      } finally {
        await offline.context.close();
      }
    }

    it(`${CONCEPT}: Run All, export HTML from the File menu (JupyterLab) and open it offline, restart and Run All gives the same numbers`, async () => {
      const { page, problems } = await open(CONCEPT);
      try {
        await driver.runAll(page);
        await driver.waitUntilAllRan(page, 240_000);
        expect(await driver.errorOutputs(page).allInnerTexts()).toEqual([]);
        expect(await expectDrawnCharts(page)).toBeGreaterThan(0);
        expect(await page.locator("table.dataframe tbody tr").count()).toBeGreaterThan(0);
        const first = await driver.textOutputs(page).allInnerTexts();
        expect(first.length).toBeGreaterThan(3);

        // The learner moves the learning rate's slider, then exports the lesson (the lessons'
        // template, the widgets' state saved with it): the page shows the slider where it was left.
        if (driver.name === "lab") {
          const rate = await moveTheSlider(page);
          const exported = await driver.exportHtml(page, EXPORTS);
          await expectOfflinePage(exported, async (offline) => {
            const readouts = offline.locator(".widget-readout");
            await expect.poll(() => readouts.allInnerTexts(), { timeout: 30_000 }).toContain(rate);
          });
        }

        await driver.clearAllOutputs(page);
        await expect.poll(() => driver.textOutputs(page).count()).toBe(0);
        await driver.restartKernel(page);
        await driver.runAll(page);
        await driver.waitUntilAllRan(page, 240_000);
        // A new kernel counts executions from 1 again.
        const firstPrompt = driver
          .codeCells(page)
          .first()
          .locator(".jp-InputPrompt, .input_prompt");
        expect((await firstPrompt.innerText()).trim()).toMatch(/\[1\]/);
        expect(await driver.textOutputs(page).allInnerTexts()).toEqual(first);
        expect(await driver.errorOutputs(page).count()).toBe(0);
        expect(problems.pageErrors).toEqual([]);
      } catch (e) {
        serverLogTail();
        throw e;
      } finally {
        await shot(page, CONCEPT.replace(".ipynb", ""));
        await page.close();
      }
    }, 600_000);

    it("errors, interrupts and a usable kernel afterwards, from the UI", async () => {
      const { page } = await open("probe.ipynb");
      try {
        // A type error: a readable TypeScript message with the line in the cell.
        await driver.runCell(page, 0);
        await driver.waitUntilCellRan(page, 0, 60_000);
        const typeError = (await driver.outputs(page, 0).innerText()).trim();
        expect(typeError).toMatch(/line 2\b/);
        expect(typeError).toMatch(/Type 'number' is not assignable to type 'string'/);
        // A thrown error: its name and message, and where in the cell.
        await driver.runCell(page, 1);
        await driver.waitUntilCellRan(page, 1, 60_000);
        const thrown = (await driver.outputs(page, 1).innerText()).trim();
        expect(thrown).toMatch(/Error: deliberate failure, answer 42/);
        expect(thrown).toMatch(/line 2\b/);
        expect(await driver.errorOutputs(page).count()).toBe(2);

        // A synchronous busy loop, an awaited loop and a long model.fit, each stopped by the interrupt.
        await driver.runCell(page, 4); // the model to train
        await driver.waitUntilCellRan(page, 4, 60_000);
        for (const cell of [2, 3, 5]) {
          await driver.runCell(page, cell);
          await expect.poll(() => driver.isBusy(page), { timeout: 30_000 }).toBe(true);
          await new Promise((r) => setTimeout(r, 2000));
          expect(await driver.isBusy(page), `cell ${cell} still running before the interrupt`).toBe(
            true,
          );
          const interrupted = Date.now();
          await driver.interrupt(page);
          await driver.waitUntilCellRan(page, cell, 30_000);
          expect(Date.now() - interrupted).toBeLessThan(30_000);
          expect(await driver.outputs(page, cell).innerText()).toMatch(
            cell === 5
              ? /KeyboardInterrupt: fit stopped by the interrupt after \d+ of 100000 epochs/
              : /interrupt/i,
          );
        }
        // The interrupted model is usable, and so is the kernel.
        await driver.runCell(page, 6);
        await driver.waitUntilCellRan(page, 6, 60_000);
        expect((await driver.outputs(page, 6).innerText()).trim()).toMatch(
          /trained some epochs; prediction finite: true/,
        );
        await driver.runCell(page, 7);
        await driver.waitUntilCellRan(page, 7, 60_000);
        expect((await driver.outputs(page, 7).innerText()).trim()).toMatch(/\b42$/);
      } finally {
        await shot(page, "probe");
        await page.close();
      }
    }, 300_000);

    // The learner's loop drives JupyterLab's editor (the front end set-up installs wherever pip
    // works); the classic Notebook fallback runs the Run All, restart, error and interrupt tests.
    it.runIf(driver.name === "lab")(
      `the learner's loop in ${SHEETS}: another sheet and rate in a try-it cell adds a row; a bad value stops with a message and keeps the tries`,
      async () => {
        const { page, problems } = await open(SHEETS);
        try {
          await driver.runAll(page);
          await driver.waitUntilAllRan(page, 240_000);
          expect(await driver.errorOutputs(page).allInnerTexts()).toEqual([]);
          const sources = await driver
            .codeCells(page)
            .locator(".jp-InputArea-editor")
            .allInnerTexts();
          const tryCell = sources.findIndex((text) =>
            text.includes('trySheet({ sheet: "adam", lr: 1,'),
          );
          expect(tryCell, "the first try-it cell").toBeGreaterThan(0);
          const rowsOf = (cell: number) =>
            driver.outputs(page, cell).locator("table.dataframe tbody tr").count();
          // The last try-it cell (the widget cell comes after it).
          const tryCells = sources.flatMap((text, i) => (/^trySheet\(/m.test(text) ? [i] : []));
          const last = tryCells.at(-1) ?? -1;
          expect(last, "the last try-it cell").toBeGreaterThan(tryCell);
          const before = await rowsOf(last);
          expect(before).toBeGreaterThan(1); // each try cell shows every try so far

          await editAndRun(page, tryCell, 'trySheet({ sheet: "rmsprop", lr: 0.01, epochs: 20 });');
          await driver.waitUntilCellRan(page, tryCell, 60_000);
          expect(await rowsOf(tryCell)).toBe(before + 1);
          expect(
            await driver.outputs(page, tryCell).locator("table.dataframe").innerText(),
          ).toMatch(/rmsprop/);
          const traces = driver
            .outputs(page, tryCell)
            .locator(".lesson4-plot .scatterlayer .trace");
          await expect.poll(() => traces.count(), { timeout: 30_000 }).toBe(before + 1);

          // A learning rate of 0: the cell says what is wrong, and the earlier tries are all still there.
          await editAndRun(page, tryCell, 'trySheet({ sheet: "rmsprop", lr: 0, epochs: 20 });');
          await driver.waitUntilCellRan(page, tryCell, 60_000);
          expect(await driver.outputs(page, tryCell).innerText()).toMatch(
            /lr must be a number, greater than 0/,
          );
          await driver.runCell(page, last);
          await driver.waitUntilCellRan(page, last, 60_000);
          expect(await rowsOf(last)).toBe(before + 1);
          expect(problems.pageErrors).toEqual([]);
        } finally {
          await shot(page, SHEETS.replace(".ipynb", ""));
          await page.close();
        }
      },
      600_000,
    );

    it.runIf(driver.name === "lab")(
      `the learner's loop in ${TRY_IT}: Run All, change a try-it cell's learning rate, Shift-Enter, the table gains a row; a long try interrupted from the toolbar`,
      async () => {
        const { page, problems } = await open(TRY_IT);
        try {
          await driver.runAll(page);
          await driver.waitUntilAllRan(page, 480_000);
          expect(await driver.errorOutputs(page).allInnerTexts()).toEqual([]);
          const sources = await driver
            .codeCells(page)
            .locator(".jp-InputArea-editor")
            .allInnerTexts();
          const tryCell = sources.findIndex((text) => text.includes("await tryBias({ lr: 0.01,"));
          expect(tryCell, "the try-it cell").toBeGreaterThan(0);
          const rowsOf = (cell: number) =>
            driver.outputs(page, cell).locator("table.dataframe tbody tr").count();
          expect(await rowsOf(tryCell)).toBe(1);
          expect(await rowsOf(tryCell + 1)).toBe(2); // the second try-it cell, lr 0.1

          // Edit the learning rate as a person would: into the cell's editor, replace its text, Shift-Enter.
          await editAndRun(page, tryCell, "await tryBias({ lr: 0.003, epochs: 3, factors: 50 });");
          await expect.poll(() => rowsOf(tryCell), { timeout: 120_000 }).toBe(3);
          await driver.waitUntilCellRan(page, tryCell, 120_000);
          const shown = await driver.outputs(page, tryCell).locator("table.dataframe").innerText();
          expect(shown).toMatch(/0\.0030/);
          expect(
            await driver
              .outputs(page, tryCell)
              .locator(".lesson4-plot .scatterlayer .trace")
              .count(),
          ).toBe(3);
          expect(await driver.errorOutputs(page).count()).toBe(0);

          // A long try stopped from the toolbar: KeyboardInterrupt, and the learner carries on.
          const longTry = tryCell + 1;
          await editAndRun(page, longTry, "await tryBias({ lr: 0.01, epochs: 50, factors: 50 });");
          await expect.poll(() => driver.isBusy(page), { timeout: 30_000 }).toBe(true);
          await new Promise((r) => setTimeout(r, 3000));
          expect(
            await driver.isBusy(page),
            "the 50-epoch try still training before the interrupt",
          ).toBe(true);
          await driver.interrupt(page);
          await driver.waitUntilCellRan(page, longTry, 60_000);
          expect(await driver.outputs(page, longTry).innerText()).toMatch(
            /KeyboardInterrupt: fitCollab stopped by the interrupt in epoch \d+ of 50/,
          );
          // The interrupted try recorded nothing: running the first try cell again still shows 3 tries.
          await driver.runCell(page, tryCell);
          await driver.waitUntilCellRan(page, tryCell, 120_000);
          expect(await rowsOf(tryCell)).toBe(3);
          expect(await driver.errorOutputs(page).count()).toBe(1); // the interrupt's
          expect(problems.pageErrors).toEqual([]);
        } finally {
          await shot(page, "try-it");
          await page.close();
        }
      },
      900_000,
    );

    it("the server log shows the project's kernel started", () => {
      expect(serverLog).toMatch(/Kernel started/);
    });
  },
);

if (!ready) {
  describe("notebooks in a browser UI", () => {
    it.skip(`needs Jupyter and Chromium (setup found frontEnd=${env.frontEnd}, chromium=${executable})`, () =>
      undefined);
  });
}
