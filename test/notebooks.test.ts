/**
 * The notebook runner (`npm run lessons`) on notebooks that fail on purpose. The lessons
 * themselves are tested in test/notebooks-*.test.ts (test/support/notebook-suite.ts).
 */
import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { runNotebooks, type NotebookResult } from "../scripts/run-lessons";
import { spawnSync } from "child_process";
import { BUILD_DIR, ROOT } from "../scripts/lessons";

const OUT = path.join(BUILD_DIR, "test-lessons", "runner");

function results(summary: string): NotebookResult[] {
  return JSON.parse(fs.readFileSync(path.join(OUT, summary), "utf8"));
}

describe("the runner", () => {
  it("fails a notebook on its first failing cell, naming notebook, cell and error", async () => {
    const fixture = path.join(__dirname, "fixtures", "failing.ipynb");
    const { status, output } = await runNotebooks({
      notebooks: [fixture],
      outDir: OUT,
      quiet: true,
      env: { LESSON4_MODE: "fast" },
    });
    expect(status).toBe(1);
    expect(output).toMatch(
      /FAILED .*failing\.ipynb cell 2: Error: deliberate failure in the second code cell/,
    );
    const [result] = results("summary.json");
    expect(result.status).toBe("failed");
    expect(result.error?.cell).toBe(2);
    const executed = JSON.parse(fs.readFileSync(path.join(OUT, "failing.ipynb"), "utf8"));
    expect(JSON.stringify(executed.cells[1].outputs)).toContain("first cell ran 42");
    expect(executed.cells[3].outputs).toEqual([]);
    expect(fs.readFileSync(path.join(OUT, "failing.html"), "utf8")).toContain("deliberate failure");
  }, 180_000);

  it("a bad setting stops `npm run lessons` with the message alone, no stack trace", () => {
    const run = spawnSync(
      process.execPath,
      [require.resolve("tsx/cli"), path.join(ROOT, "scripts", "run-lessons.ts")],
      {
        env: { ...process.env, LESSON4_MODE: "turbo" },
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      'npm run lessons: LESSON4_MODE="turbo" is not valid: LESSON4_MODE must be one of "fast", "full".',
    );
  }, 60_000);

  it("fails a cell that never replies after LESSON4_CELL_TIMEOUT, naming notebook and cell, and goes on", async () => {
    const dir = fs.mkdtempSync(path.join(BUILD_DIR, "stuck-"));
    const cell = (source: string) => ({
      cell_type: "code",
      metadata: {},
      source,
      outputs: [],
      execution_count: null,
    });
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      cells: [cell("6 * 7"), cell("await new Promise(() => undefined); // never settles")],
      metadata: {
        kernelspec: {
          name: "lesson4-ts",
          display_name: "TypeScript (lesson4-ts)",
          language: "typescript",
        },
      },
    };
    const stuck = path.join(dir, "stuck.ipynb");
    fs.writeFileSync(stuck, JSON.stringify(notebook));
    const fixture = path.join(__dirname, "fixtures", "failing.ipynb");
    const env = { LESSON4_MODE: "fast", LESSON4_CELL_TIMEOUT: "15" };
    const { status, output } = await runNotebooks({
      notebooks: [stuck, fixture],
      outDir: dir,
      quiet: true,
      env,
    });
    expect(status).toBe(1);
    expect(output).toMatch(
      /FAILED .*stuck\.ipynb cell 1: CellTimeoutError: no reply from the kernel within 15 s \(the cell starts: 'await new Promise/,
    );
    expect(output).toMatch(/FAILED .*failing\.ipynb cell 2/); // the next notebook still ran
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});
