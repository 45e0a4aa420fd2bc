/**
 * The project's kernel over the real Jupyter protocol: Jupyter's own kernel test suite, rich
 * execute_results, error positions, and interrupting a running cell.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jupyterEnv, projectEnv, ROOT, NOTEBOOK_DIR } from "../scripts/lessons";

interface Output { type: string; name?: string; text?: string; data?: Record<string, unknown>; ename?: string; evalue?: string; traceback?: string[] }
interface CellResult { status: string; ename?: string; evalue?: string; traceback?: string[]; outputs: Output[] }

/** Runs a command without blocking the test worker's event loop. */
function run(cmd: string, args: string[], cwd: string): Promise<{ status: number; stderr: string }> {
  const child = spawn(cmd, args, { cwd, env: jupyterEnv(), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ status: code ?? 1, stderr })));
}

async function probe(cells: Array<{ code: string; interrupt_after?: number }>): Promise<CellResult[]> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lesson4-probe-")), "results.json");
  const result = await run(projectEnv().python, [path.join(ROOT, "kernel", "tests", "probe.py"), JSON.stringify(cells), NOTEBOOK_DIR, out], NOTEBOOK_DIR);
  if (result.status !== 0) throw new Error(`probe failed: ${result.stderr}`);
  return JSON.parse(fs.readFileSync(out, "utf8"));
}

const results = (r: CellResult) => r.outputs.filter((o) => o.type === "execute_result");

describe("Jupyter's kernel test suite", () => {
  it("passes against the lesson4-ts kernelspec", async (ctx) => {
    if (!projectEnv().kernelTests) ctx.skip(); // setup could not install jupyter_kernel_test
    const suite = await run(projectEnv().python, ["-m", "unittest", "-v", "kernel/tests/test_kernel_suite.py"], ROOT);
    const report = suite.stderr;
    expect(report, report).toMatch(/\nOK( \(skipped=\d+\))?\s*$/);
    expect(report).toMatch(/test_execute_result .* ok/);
    expect(report).toMatch(/test_completion .* ok/);
    expect(suite.status).toBe(0);
  }, 180_000);
});

describe("rich results, errors and interrupts", () => {
  let number: CellResult, undef: CellResult, tensor: CellResult, image: CellResult, frame: CellResult, figure: CellResult;
  let typeError: CellResult, thrown: CellResult, interrupted: CellResult, afterInterrupt: CellResult;
  beforeAll(async () => {
    [number, undef, tensor, image, frame, figure, typeError, thrown, interrupted, afterInterrupt] = await probe([
    { code: "6 * 7" },
    { code: "const nothing = undefined;\nnothing" },
    { code: 'import { initBackend, tf } from "./lib/engine/backend";\nawait initBackend();\ntf.range(0, 100)' },
    { code: "tf.zeros([16, 16, 3]).add(0.5)" },
    { code: 'import * as dfd from "danfojs-node";\nnew dfd.DataFrame({ city: ["Oslo", "Lima"], rain: [0.5, 1.25] })' },
    { code: '({ data: [{ x: [1, 2, 3], y: [2, 4, 8], type: "scatter" }], layout: { title: { text: "doubling" } } })' },
    { code: "const ok = 1;\nconst wrong: number = \"text\";" },
    { code: 'function explode() {\n  throw new RangeError("out of range");\n}\nexplode();' },
    { code: "let spins = 0;\nwhile (true) { spins++; }", interrupt_after: 3 },
    { code: 'console.log("alive after interrupt");\n1 + 1' },
    ]);
  }, 300_000);

  it("returns the last value as an execute_result, and nothing for undefined", () => {
    expect(results(number)[0].data!["text/plain"]).toBe("42");
    expect(undef.outputs).toEqual([]);
  });

  it("shows a tensor as a compact summary, and an image-shaped tensor as PNG too", () => {
    const [summary] = results(tensor);
    expect(summary.data!["text/plain"]).toMatch(/^Tensor shape \[100\] float32 · 100 values · min 0\.000 · max 99\.00 · mean 49\.50\n\[0, 1, 2, …, 97, 98, 99\]$/);
    expect(summary.data!["text/html"]).toContain("lesson4-tensor");
    expect(results(image)[0].data!["image/png"]).toMatch(/^iVBOR/);
  });

  it("shows a danfo DataFrame as an HTML table and a plotly figure as a chart", () => {
    const html = results(frame)[0].data!["text/html"] as string;
    expect(html).toContain("<td>Oslo</td>");
    expect(html).toContain("<td>1.2500</td>");
    const chart = results(figure)[0].data!;
    expect(chart["text/html"]).toContain("Plotly.newPlot");
    expect(chart["application/vnd.plotly.v1+json"]).toMatchObject({ layout: { title: { text: "doubling" } } });
  });

  it("reports a type error with its line and column in the cell", () => {
    expect(typeError.status).toBe("error");
    expect(typeError.ename).toBe("TypeScriptError");
    expect(typeError.evalue).toMatch(/^line 2, column 7: Type 'string' is not assignable to type 'number'/);
    expect(typeError.outputs.find((o) => o.type === "error")?.traceback?.join("\n")).toContain('const wrong: number = "text";');
  });

  it("reports a thrown error by name and message, without kernel internals in the stack", () => {
    expect(thrown).toMatchObject({ status: "error", ename: "RangeError", evalue: "out of range" });
    const trace = thrown.traceback!.join("\n");
    expect(trace).toMatch(/at explode/);
    expect(trace).not.toMatch(/tslab[\\/]dist|node:vm|node:internal/);
  });

  it("stops a running loop on interrupt and stays usable", () => {
    expect(interrupted.status).toBe("error");
    expect(afterInterrupt.status).toBe("ok");
    expect(afterInterrupt.outputs.some((o) => o.text?.includes("alive after interrupt"))).toBe(true);
    expect(results(afterInterrupt)[0].data!["text/plain"]).toBe("2");
  });
});
