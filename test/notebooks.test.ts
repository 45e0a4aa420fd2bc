/**
 * Every notebook, executed top to bottom through Jupyter (nbclient + the project's tslab kernel)
 * in fast mode, exactly as `npm run lessons` does; and a notebook that fails on purpose.
 */
import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { runNotebooks, type NotebookResult } from "../scripts/run-lessons";
import { BUILD_DIR, listNotebooks } from "../scripts/lessons";

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
});

describe.each(listNotebooks().map((p) => [path.basename(p), p]))("notebook %s", (name, notebook) => {
  it("runs top to bottom in fast mode and exports HTML", async () => {
    const { status, output } = await runNotebooks({ notebooks: [notebook], outDir: OUT, quiet: true, env: { LESSON4_MODE: "fast" } });
    expect(output, output).toMatch(/1 passed, 0 failed/);
    expect(status).toBe(0);
    const executed = JSON.parse(fs.readFileSync(path.join(OUT, name), "utf8"));
    const errors = executed.cells.flatMap((c: { outputs?: Array<{ output_type: string }> }) => (c.outputs ?? []).filter((o) => o.output_type === "error"));
    expect(errors).toEqual([]);
    expect(fs.existsSync(path.join(OUT, name.replace(".ipynb", ".html")))).toBe(true);
  }, 900_000);
});
