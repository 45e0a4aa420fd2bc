/**
 * The project's kernel over the real Jupyter protocol: Jupyter's own kernel test suite, rich
 * execute_results, error positions (type errors and thrown errors, in TypeScript lines), and
 * interrupting running cells (a synchronous loop, model.fit, awaited loops).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jupyterEnv, projectEnv, ROOT, NOTEBOOK_DIR } from "../scripts/lessons";

interface Output {
  type: string;
  name?: string;
  text?: string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface CellResult {
  status: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  outputs: Output[];
  seconds_to_reply?: number | null;
}
interface Cell {
  code: string;
  interrupt_after?: number;
  interrupt_on?: string;
  timeout?: number;
}

/** Runs a command without blocking the test worker's event loop. */
function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ status: number; stderr: string }> {
  const child = spawn(cmd, args, { cwd, env: jupyterEnv(), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.on("close", (code) => resolve({ status: code ?? 1, stderr })),
  );
}

async function probe(cells: Cell[]): Promise<CellResult[]> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lesson4-probe-")), "results.json");
  const result = await run(
    projectEnv().python,
    [path.join(ROOT, "kernel", "tests", "probe.py"), JSON.stringify(cells), NOTEBOOK_DIR, out],
    NOTEBOOK_DIR,
  );
  if (result.status !== 0) throw new Error(`probe failed: ${result.stderr}`);
  const results = JSON.parse(fs.readFileSync(out, "utf8")) as CellResult[];
  const quiet = results.find((r) => r.status === "timeout");
  if (quiet) {
    const got = `${quiet.outputs.length} outputs, the last: ${JSON.stringify(quiet.outputs.slice(-2))}`;
    throw new Error(
      `the kernel went quiet (no idle status) during: ${JSON.stringify((quiet as { code?: string }).code)}; ${got}`,
    );
  }
  return results;
}

const results = (r: CellResult) => r.outputs.filter((o) => o.type === "execute_result");

describe("Jupyter's kernel test suite", () => {
  it("passes against the lesson4-ts kernelspec", async (ctx) => {
    if (!projectEnv().kernelTests) ctx.skip(); // setup could not install jupyter_kernel_test
    const suite = await run(
      projectEnv().python,
      ["-m", "unittest", "-v", "kernel/tests/test_kernel_suite.py"],
      ROOT,
    );
    const report = suite.stderr;
    expect(report, report).toMatch(/\nOK( \(skipped=\d+\))?\s*$/);
    expect(report).toMatch(/test_execute_result .* ok/);
    expect(report).toMatch(/test_completion .* ok/);
    // Every test the suite has runs, none skipped: history (tail, range, search), is_complete
    // (complete, incomplete, invalid), inspect, the pager and clear_output among them.
    const ran = [
      "test_history",
      "test_is_complete",
      "test_inspect",
      "test_pager",
      "test_clear_output",
    ];
    for (const name of ran) expect(report).toMatch(new RegExp(`${name} .* ok\\n`));
    expect(report).not.toMatch(/skipped/);
    expect(report).toMatch(/\nOK\s*$/);
    expect(suite.status).toBe(0);
  }, 180_000);
});

describe("rich results, errors and interrupts", () => {
  let number: CellResult,
    undef: CellResult,
    tensor: CellResult,
    image: CellResult,
    frame: CellResult,
    series: CellResult,
    figure: CellResult;
  let other: CellResult, displayed: CellResult;
  let typeError: CellResult,
    thrown: CellResult,
    thirdLine: CellResult,
    defines: CellResult,
    callsEarlier: CellResult,
    fromLib: CellResult;
  let interrupted: CellResult, afterInterrupt: CellResult, fromTimer: CellResult;
  // Execution counts: cell i of the probe is In[i + 1] (every request counts, failed ones too).
  const DEFINES = 14;
  beforeAll(async () => {
    const cells: Cell[] = [
      { code: "6 * 7" },
      { code: "const nothing = undefined;\nnothing" },
      {
        code: 'import { initBackend, tf } from "./lib/engine/backend";\nawait initBackend();\ntf.range(0, 100)',
      },
      { code: "tf.zeros([16, 16, 3]).add(0.5)" },
      {
        code: 'import * as dfd from "danfojs-node";\nnew dfd.DataFrame({ city: ["Oslo", "Lima"], rain: [0.5, 1.25] })',
      },
      { code: 'new dfd.Series([0.5, 1.25, 7], { index: ["Oslo", "Lima", "Pune"] })' },
      {
        code: '({ data: [{ x: [1, 2, 3], y: [2, 4, 8], type: "scatter" }], layout: { title: { text: "doubling" } } })',
      },
      { code: 'new Map([["rain", [0.5, 1.25]]])' },
      {
        code: 'import * as tslab from "tslab";\ntslab.display.html("<b>shown by tslab.display</b>")',
      },
      { code: 'const ok = 1;\nconst wrong: number = "text";' },
      { code: 'function explode() {\n  throw new RangeError("out of range");\n}\nexplode();' },
      {
        code: "const first = 1;\nconst second = first + 1;\nthrow new Error(`third line, after ${second}`);",
      },
      { code: 'import { toTableData } from "./lib/display/table";\ntoTableData(42 as unknown)' },
      {
        code: "function failLater(n: number): number {\n  if (n > 2) throw new Error(`too big: ${n}`);\n  return n;\n}",
      },
      { code: "const small = failLater(1);\nfailLater(small + 5);" },
      { code: "let spins = 0;\nwhile (true) { spins++; }", interrupt_after: 3 },
      { code: 'console.log("alive after interrupt");\n1 + 1' },
      {
        code: 'const later = () => {\n  throw new Error("from a timer");\n};\nsetTimeout(later, 10);\nPromise.reject(new TypeError("nobody awaits me"));\nawait new Promise((r) => setTimeout(r, 300));\n"still running"',
      },
    ];
    expect(cells[DEFINES - 1].code).toContain("function failLater");
    [
      number,
      undef,
      tensor,
      image,
      frame,
      series,
      figure,
      other,
      displayed,
      typeError,
      thrown,
      thirdLine,
      fromLib,
      defines,
      callsEarlier,
      interrupted,
      afterInterrupt,
      fromTimer,
    ] = await probe(cells);
  }, 300_000);

  it("returns the last value as an execute_result, and nothing for undefined", () => {
    expect(results(number)[0].data!["text/plain"]).toBe("42");
    expect(undef.outputs).toEqual([]);
    expect(defines.outputs).toEqual([]);
  });

  it("shows a tensor as a compact summary with elided values, and an image-shaped tensor as PNG too", () => {
    const [summary] = results(tensor);
    expect(summary.data!["text/plain"]).toMatch(
      /^Tensor shape \[100\] float32 · 100 values · min 0\.000 · max 99\.00 · mean 49\.50\n\[0, 1, 2, …, 97, 98, 99\]$/,
    );
    expect(summary.data!["text/html"]).toContain("lesson4-tensor");
    expect(summary.data!["text/html"]).toContain("[0, 1, 2, …, 97, 98, 99]");
    const picture = results(image)[0].data!;
    expect(picture["image/png"]).toMatch(/^iVBOR/);
    expect(picture["text/plain"]).toMatch(/^Tensor shape \[16, 16, 3\] float32/);
  });

  it("shows a danfo DataFrame and Series as an HTML table plus text", () => {
    const table = results(frame)[0].data!;
    expect(table["text/html"]).toContain("<td>Oslo</td>");
    expect(table["text/html"]).toContain("<td>1.2500</td>");
    expect(table["text/plain"]).toMatch(/Oslo/);
    const column = results(series)[0].data!;
    expect(column["text/html"]).toMatch(/<table[\s\S]*Pune[\s\S]*7/);
    expect(column["text/plain"]).toMatch(/Lima/);
  });

  it("shows a plotly figure object as a chart", () => {
    const chart = results(figure)[0].data!;
    expect(chart["text/html"]).toContain("Plotly.newPlot");
    expect(chart["application/vnd.plotly.v1+json"]).toMatchObject({
      layout: { title: { text: "doubling" } },
    });
  });

  it("shows any other value as util.inspect text, and keeps tslab's display helpers", () => {
    expect(results(other)[0].data).toEqual({ "text/plain": "Map(1) { 'rain' => [ 0.5, 1.25 ] }" });
    const shown = displayed.outputs.find((o) => o.type === "display_data");
    expect(shown?.data?.["text/html"]).toBe("<b>shown by tslab.display</b>");
  });

  it("reports a type error with its line and column in the cell", () => {
    expect(typeError.status).toBe("error");
    expect(typeError.ename).toBe("TypeScriptError");
    expect(typeError.evalue).toMatch(
      /^line 2, column 7: Type 'string' is not assignable to type 'number'/,
    );
    expect(typeError.outputs.find((o) => o.type === "error")?.traceback?.join("\n")).toContain(
      'const wrong: number = "text";',
    );
  });

  it("reports a thrown error by name and message, without kernel internals in the stack", () => {
    expect(thrown).toMatchObject({ status: "error", ename: "RangeError", evalue: "out of range" });
    const trace = thrown.traceback!.join("\n");
    expect(trace).toMatch(/at explode \(Cell In\[11\], line 2, column 9\)/);
    expect(trace).toMatch(/at Cell In\[11\], line 4, column 1/);
    expect(trace).not.toMatch(/tslab[\\/]dist|node:vm|node:internal|kernel[\\/]|evalmachine/);
  });

  it("gives a thrown error's TypeScript line and column in the cell, with the line's source", () => {
    expect(thirdLine).toMatchObject({
      status: "error",
      ename: "Error",
      evalue: "third line, after 2",
    });
    expect(thirdLine.traceback!.slice(1)).toEqual([
      "    at Cell In[12], line 3, column 7",
      "        throw new Error(`third line, after ${second}`);",
    ]);
  });

  it("names the earlier cell (and its line) of a function that throws, and the line calling it", () => {
    expect(callsEarlier).toMatchObject({ status: "error", evalue: "too big: 6" });
    const trace = callsEarlier.traceback!.join("\n");
    expect(trace).toContain(`at failLater (Cell In[${DEFINES}], line 2, column 20)`);
    expect(trace).toContain(`at Cell In[${DEFINES + 1}], line 2, column 1`);
  });

  it("maps frames inside imported project files to their TypeScript lines", () => {
    expect(fromLib).toMatchObject({ status: "error", ename: "TypeError" });
    const frame = fromLib.traceback!.find((l) => l.includes("at toTableData"));
    const [, line] = /lib\/display\/table\.ts:(\d+):\d+\)$/.exec(frame ?? "") ?? [];
    expect(line, frame).toBeDefined();
    const source = fs
      .readFileSync(path.join(ROOT, "lib", "display", "table.ts"), "utf8")
      .split("\n")[Number(line) - 1];
    expect(source).toMatch(/throw new TypeError/);
  });

  it("shows errors outside the cell's awaited chain on stderr, with positions, and goes on (wasm backend loaded)", () => {
    // The wasm backend's own handlers would rethrow these and end the kernel; the kernel keeps only its own.
    expect(fromTimer.status).toBe("ok");
    const stderr = fromTimer.outputs
      .filter((o) => o.name === "stderr")
      .map((o) => o.text)
      .join("");
    expect(stderr).toMatch(
      /Uncaught exception:\nError: from a timer\n.*\(Cell In\[18\], line 2, column 9\)/,
    );
    expect(stderr).toMatch(
      /Unhandled promise rejection:\nTypeError: nobody awaits me\n.*Cell In\[18\], line 5, column 16/,
    );
    expect(results(fromTimer)[0].data!["text/plain"]).toBe("'still running'");
  });

  it("stops a running synchronous loop on interrupt and stays usable", () => {
    expect(interrupted).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    expect(afterInterrupt.status).toBe("ok");
    expect(afterInterrupt.outputs.some((o) => o.text?.includes("alive after interrupt"))).toBe(
      true,
    );
    expect(results(afterInterrupt)[0].data!["text/plain"]).toBe("2");
  });
});

describe("interrupting awaited work", () => {
  let setup: CellResult,
    fit: CellResult,
    afterFit: CellResult,
    frameLoop: CellResult,
    afterFrames: CellResult;
  let libLoop: CellResult, timerLoop: CellResult, afterLoops: CellResult;
  beforeAll(async () => {
    // Each loop prints its marker after its first await: the probe interrupts when it sees it.
    [setup, fit, afterFit, frameLoop, afterFrames, libLoop, timerLoop, afterLoops] = await probe([
      {
        code: [
          'import { initBackend, tf } from "./lib/engine/backend";',
          'import { checkpoint } from "./lib/engine/interrupt";',
          "await initBackend();",
          'const model = tf.sequential({ layers: [tf.layers.dense({ units: 32, inputShape: [8], activation: "relu" }), tf.layers.dense({ units: 1 })] });',
          'model.compile({ optimizer: "sgd", loss: "meanSquaredError" });',
          "const xs = tf.randomNormal([4096, 8]);",
          "const ys = xs.sum(1, true);",
          "let epochsSeen = 0, frames = 0, polls = 0, ticks = 0;",
        ].join("\n"),
      },
      {
        code: 'await model.fit(xs, ys, { epochs: 100000, batchSize: 16, verbose: 0, callbacks: { onEpochEnd: () => { if (epochsSeen++ === 0) console.log("first epoch done"); } } });\nconsole.log("after fit");',
        interrupt_on: "first epoch done",
      },
      {
        code: "const stoppedAt = epochsSeen;\nawait new Promise((r) => setTimeout(r, 1500));\nconst again = await model.fit(xs, ys, { epochs: 1, verbose: 0 });\nconst out = model.predict(tf.ones([1, 8])) as tf.Tensor;\n[stoppedAt === epochsSeen, Array.from(out.dataSync()).every(Number.isFinite), again.history.loss.length]",
      },
      {
        code: 'await tf.nextFrame();\nconsole.log("looping");\nfor (;;) { frames++; await tf.nextFrame(); }',
        interrupt_on: "looping",
      },
      {
        code: "const framesThen = frames;\nawait new Promise((r) => setTimeout(r, 500));\nframes === framesThen",
      },
      {
        code: 'await tf.nextFrame();\nconsole.log("polling");\nfor (;;) { polls++; await checkpoint("the polling loop"); }',
        interrupt_on: "polling",
      },
      {
        code: 'await tf.nextFrame();\nconsole.log("ticking");\nfor (;;) { ticks++; await new Promise((r) => setTimeout(r, 5)); }',
        interrupt_on: "ticking",
      },
      {
        code: "const pollsThen = polls, ticksThen = ticks;\nawait new Promise((r) => setTimeout(r, 300));\n[polls === pollsThen, ticks > ticksThen]",
      },
    ]);
  }, 300_000);

  it("stops a model.fit within seconds with a KeyboardInterrupt, and the model stays usable", () => {
    expect(setup.status).toBe("ok");
    expect(fit).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    expect(fit.evalue).toMatch(/^fit stopped by the interrupt after \d+ of 100000 epochs/);
    expect(fit.seconds_to_reply).toBeLessThan(5);
    expect(fit.outputs.some((o) => o.text?.includes("after fit"))).toBe(false); // the rest of the cell did not run
    // No epoch ended after the interrupt; the model trains and predicts again.
    expect(results(afterFit)[0].data!["text/plain"]).toBe("[ true, true, 1 ]");
  });

  it("ends a loop awaiting tf.nextFrame(), and the loop really stops", () => {
    expect(frameLoop).toMatchObject({
      status: "error",
      ename: "KeyboardInterrupt",
      evalue: "the loop awaiting tf.nextFrame() was interrupted",
    });
    expect(frameLoop.traceback!.join("\n")).toMatch(/at async Cell In\[4\], line 3/);
    expect(results(afterFrames)[0].data!["text/plain"]).toBe("true");
  });

  it("ends a lib loop polling lib/engine/interrupt; abandons other awaited loops with a clear message", () => {
    expect(libLoop).toMatchObject({
      status: "error",
      ename: "KeyboardInterrupt",
      evalue: "the polling loop was interrupted",
    });
    expect(timerLoop).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    expect(timerLoop.evalue).toMatch(/may still be running in the background/);
    // The polling loop stopped; the timer loop (which checks nothing) goes on, as the message says.
    expect(results(afterLoops)[0].data!["text/plain"]).toBe("[ true, true ]");
  });
});

describe("an interrupt that arrives while the cell is still being compiled", () => {
  let first: CellResult, next: CellResult;
  beforeAll(async () => {
    // The first import of lib compiles much of it (seconds): the interrupt lands in that compile. Node's vm
    // used to drop such a signal, and the fit below then ran on for ever.
    [first, next] = await probe([
      {
        code: [
          'import { initBackend, tf } from "./lib/engine/backend";',
          'import { readStateFarm } from "./lib/statefarm/index";',
          'import { fitCollab } from "./lib/collab/index";',
          "await initBackend();",
          "const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });",
          'model.compile({ optimizer: "sgd", loss: "meanSquaredError" });',
          "await model.fit(tf.ones([64, 1]), tf.ones([64, 1]), { epochs: 100000, verbose: 0 });",
          'console.log("after fit", typeof readStateFarm, typeof fitCollab);',
        ].join("\n"),
        interrupt_after: 0.2,
        timeout: 180,
      },
      { code: "1 + 1" },
    ]);
  }, 300_000);

  it("ends the cell with a KeyboardInterrupt, and the kernel stays usable", () => {
    expect(first).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    // Normally nothing of the cell ran; on a very fast machine the compile may end first, and the fit stops instead.
    expect(first.evalue).toMatch(
      /^(interrupted while the cell was being compiled; none of it ran|fit stopped by the interrupt)/,
    );
    expect(first.outputs.some((o) => o.text?.includes("after fit"))).toBe(false);
    expect(results(next)[0].data!["text/plain"]).toBe("2");
  });
});

describe("shorthand properties naming earlier cells' variables (tslab 1.0.22 misses them)", () => {
  let results: CellResult[] = [];
  beforeAll(async () => {
    results = await probe([
      { code: "const trn = 1;\nconst val = 2;" },
      { code: "const split = { trn, val };\nsplit" },
      { code: "function pair() {\n  return { trn };\n}\npair()" },
      { code: "let moved = 0;\n({ moved } = { moved: 5 });\nmoved" },
      { code: "const z = 1;\nconst w: number = { z }.z + { z, trn }.trn + missingName;" },
    ]);
  }, 120_000);

  it("resolves them in object literals, nested functions and destructuring assignments", () => {
    expect(
      results
        .slice(1, 4)
        .map((r) => [
          r.status,
          r.outputs.find((o) => o.type === "execute_result")?.data?.["text/plain"],
        ]),
    ).toEqual([
      ["ok", "{ trn: 1, val: 2 }"],
      ["ok", "{ trn: 1 }"],
      ["ok", "5"],
    ]);
  });

  it("reports positions in the cell as written, not as expanded", () => {
    const r = results[4];
    expect(r.ename).toBe("TypeScriptError");
    const column = "const w: number = { z }.z + { z, trn }.trn + ".length + 1;
    expect(r.evalue).toMatch(
      new RegExp(`^line 2, column ${column}: Cannot find name 'missingName'`),
    );
  });
});

describe("floods of output: every message of a cell arrives, in order, then its reply and idle status", () => {
  let printed: CellResult,
    updated: CellResult,
    thrownAfter: CellResult,
    interleaved: CellResult,
    quiet: CellResult;
  beforeAll(async () => {
    const cells: Cell[] = [
      { code: 'for (let i = 0; i < 3000; i++) console.log(`line ${i}`);\n"printed"', timeout: 60 },
      {
        code:
          'import { DisplayHandle } from "./lib/display/show";\nconst handle = new DisplayHandle();\n' +
          'for (let i = 0; i < 1000; i++) handle.update({ "text/plain": `update ${i}` });\n"updated"',
        timeout: 60,
      },
      {
        code: 'for (let i = 0; i < 2000; i++) console.log(`row ${i}`);\nthrow new Error("after the flood");',
        timeout: 60,
      },
      {
        code:
          "const bar = new DisplayHandle();\nfor (let i = 0; i < 500; i++) {\n  console.log(`step ${i}`);\n" +
          '  console.error(`warn ${i}`);\n  bar.update({ "text/plain": `bar ${i}` });\n  if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));\n}',
        timeout: 60,
      },
      { code: "40 + 2", timeout: 60 },
    ];
    [printed, updated, thrownAfter, interleaved, quiet] = await probe(cells);
  }, 300_000);

  const text = (r: CellResult, name: string) =>
    r.outputs
      .filter((o) => o.type === "stream" && o.name === name)
      .map((o) => o.text)
      .join("");
  const lastShown = (r: CellResult) => {
    const shown = r.outputs.filter(
      (o) => o.type === "display_data" || o.type === "update_display_data",
    );
    return shown.length ? (shown[shown.length - 1].data?.["text/plain"] as string) : undefined;
  };

  it("3,000 printed lines, all of them in order, then the cell's value", () => {
    expect(printed.status).toBe("ok");
    const lines = text(printed, "stdout").trimEnd().split("\n");
    expect(lines).toEqual(Array.from({ length: 3000 }, (_, i) => `line ${i}`));
    expect(results(printed).map((o) => o.data?.["text/plain"])).toEqual(["'printed'"]);
  });

  it("1,000 updates of one display end showing the last one", () => {
    expect(updated.status).toBe("ok");
    expect(updated.outputs.filter((o) => o.type === "display_data")).toHaveLength(1);
    expect(lastShown(updated)).toBe("update 999");
  });

  it("an error thrown after 2,000 printed lines arrives, after all of them", () => {
    expect(thrownAfter.status).toBe("error");
    expect(thrownAfter.evalue).toBe("after the flood");
    expect(text(thrownAfter, "stdout").trimEnd().split("\n")).toHaveLength(2000);
    expect(thrownAfter.outputs[thrownAfter.outputs.length - 1].type).toBe("error");
  });

  it("stdout, stderr and display updates mixed keep each stream's order", () => {
    expect(interleaved.status).toBe("ok");
    expect(text(interleaved, "stdout").trimEnd().split("\n")).toEqual(
      Array.from({ length: 500 }, (_, i) => `step ${i}`),
    );
    expect(text(interleaved, "stderr").trimEnd().split("\n")).toEqual(
      Array.from({ length: 500 }, (_, i) => `warn ${i}`),
    );
    expect(lastShown(interleaved)).toBe("bar 499");
  });

  it("the next quiet cell runs as usual", () => {
    expect(results(quiet).map((o) => o.data?.["text/plain"])).toEqual(["42"]);
  });
});
