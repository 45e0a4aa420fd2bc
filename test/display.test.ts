import { afterEach, describe, expect, it } from "vitest";
import * as dfd from "danfojs-node";
import { setDisplaySink, type MimeBundle } from "../lib/display/show";
import { figureBundle, resetPlotlyEmbedding, plot } from "../lib/display/plot";
import { tableBundle, table } from "../lib/display/table";
import { imageBundle } from "../lib/display/image";
import { trainingProgress } from "../lib/display/progress";
import { tf } from "../lib/engine/backend";

const shown: Array<{ bundle: MimeBundle; displayId?: string; update: boolean }> = [];
setDisplaySink((bundle, options) => shown.push({ bundle, ...options }));
afterEach(() => {
  shown.length = 0;
});

describe("plotly figures", () => {
  it("embed plotly.js once, then only draw", () => {
    resetPlotlyEmbedding();
    const first = figureBundle({
      data: [{ x: [1, 2], y: [3, 4], type: "scatter" }],
      layout: { title: { text: "T" } },
    });
    const second = figureBundle({ data: [{ x: [1], y: [2] }] });
    expect(first["text/html"]).toMatch(/plotly\.js v\d/);
    expect(second["text/html"]).not.toMatch(/plotly\.js v\d/);
    expect(second["text/html"]).toMatch(/Plotly\.newPlot/);
    expect(first["application/vnd.plotly.v1+json"]).toMatchObject({ data: [{ x: [1, 2] }] });
    expect(first["text/plain"]).toBe('<plotly figure "T": 1 trace(s)>');
  });

  it("escapes </script> inside data", () => {
    const bundle = figureBundle(
      { data: [{ x: [1], y: [1], text: ["</script><b>"] }] },
      { embedLibrary: false },
    );
    expect((bundle["text/html"] as string).match(/<\/script>/g)!.length).toBe(1);
  });

  it("plot() sends a display_data bundle", () => {
    plot({ data: [{ y: [1, 2, 3] }] });
    expect(shown).toHaveLength(1);
    expect(shown[0].update).toBe(false);
    expect(shown[0].bundle["text/html"]).toBeDefined();
  });
});

describe("tables", () => {
  it("render a danfo DataFrame as an HTML table and text", () => {
    const df = new dfd.DataFrame({ name: ["a<b", "c"], score: [0.123456, 2] });
    const bundle = tableBundle(df);
    const html = bundle["text/html"] as string;
    expect(html).toContain('<table class="dataframe');
    expect(html).toContain("<th>score</th>");
    expect(html).toContain("<td>a&lt;b</td>");
    expect(html).toContain("<td>0.1235</td>");
    expect(bundle["text/plain"]).toMatch(/name\s+score/);
    expect(bundle["text/plain"]).toContain("[2 rows x 2 columns]");
  });

  it("render arrays of records with the union of their keys, eliding long tables", () => {
    const rows = Array.from({ length: 50 }, (_, i) => (i === 3 ? { a: i, b: "x" } : { a: i }));
    const html = tableBundle(rows, { maxRows: 10 })["text/html"] as string;
    expect(html).toContain("<th>b</th>");
    expect((html.match(/<tr>/g) ?? []).length).toBe(11); // 10 rows + the elision row
    expect(html).toContain("…");
    expect(html).toContain("50 rows × 2 columns");
  });

  it("render a Series and reject other values", () => {
    const s = new dfd.Series([1, 2, 3]);
    expect(tableBundle(s)["text/html"]).toContain("<td>3</td>");
    expect(() => table(42)).toThrow(/DataFrame or Series, or an array of records/);
  });
});

describe("images", () => {
  it("encode a tensor as PNG", async () => {
    const bundle = await imageBundle(tf.ones([4, 6, 3]), { width: 12 });
    const png = Buffer.from(bundle["image/png"] as string, "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.readUInt32BE(16)).toBe(12); // IHDR width
    expect(png.readUInt32BE(20)).toBe(8);
    expect(bundle["text/plain"]).toBe("<image 12x8>");
  });

  it("reject tensors that are not images", async () => {
    await expect(imageBundle(tf.ones([2, 2, 2]))).rejects.toThrow(/1, 3 or 4 channels/);
    await expect(imageBundle(tf.ones([2]))).rejects.toThrow(/\[height, width\]/);
  });
});

describe("training progress", () => {
  it("updates one display in place and keeps one line per epoch", () => {
    const progress = trainingProgress({ epochs: 2, batchesPerEpoch: 4, throttleMs: 0 });
    const cb = progress.callbacks();
    for (const epoch of [0, 1]) {
      cb.onEpochBegin(epoch);
      for (let b = 0; b < 4; b++) cb.onBatchEnd(b, { loss: 1 / (b + 1) });
      cb.onEpochEnd(epoch, { loss: 0.5 - epoch * 0.1, val_loss: 0.7 });
    }
    const ids = new Set(shown.map((s) => s.displayId));
    expect(ids.size).toBe(1);
    expect(shown[0].update).toBe(false);
    expect(shown.slice(1).every((s) => s.update)).toBe(true);
    expect(
      shown.some((s) => /batch 2\/4 .*loss 0\.5000 · ETA/.test(s.bundle["text/plain"] as string)),
    ).toBe(true);
    const last = shown.at(-1)!.bundle["text/plain"] as string;
    expect(last.split("\n")).toEqual([
      expect.stringMatching(/^epoch 1\/2 · loss 0\.5000 · val_loss 0\.7000 · /),
      expect.stringMatching(/^epoch 2\/2 · loss 0\.4000/),
    ]);
  });
});

describe("plotly.js embedded again when the output that carried it is replaced", () => {
  const KEY = Symbol.for("lesson4-ts.running-cell");
  const running = (cellId: string | null, execution: number, deletedCells: string[] = []) =>
    ((globalThis as Record<symbol, unknown>)[KEY] = { cellId, execution, deletedCells });
  const carries = (f: ReturnType<typeof figureBundle>) =>
    (f["text/html"] as string).includes("var define=undefined");
  const figure = { data: [{ y: [1, 2], type: "scatter" }] };

  it("once per page, again when that cell runs again or is deleted", () => {
    try {
      resetPlotlyEmbedding();
      running("a", 1);
      expect(carries(figureBundle(figure))).toBe(true);
      expect(carries(figureBundle(figure))).toBe(false); // a second chart of the same run
      running("b", 2);
      expect(carries(figureBundle(figure))).toBe(false);
      running("a", 3); // cell a re-run: its old output, with the library, is cleared
      expect(carries(figureBundle(figure))).toBe(true);
      running("b", 4, ["a"]); // cell a deleted
      expect(carries(figureBundle(figure))).toBe(true);
      running(null, 5); // a front end that sends no cell id: as before, once
      expect(carries(figureBundle(figure))).toBe(false);
    } finally {
      delete (globalThis as Record<symbol, unknown>)[KEY];
      resetPlotlyEmbedding();
    }
  });
});
