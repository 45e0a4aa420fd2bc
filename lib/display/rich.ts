/**
 * How a cell's last value is shown (the kernel's execute_result): DataFrames as tables, tensors
 * as compact summaries (and PNG when they look like images), plotly figures as charts, the rest
 * as Node's util.inspect text.
 */
import { inspect } from "util";
import * as tf from "@tensorflow/tfjs";
import { escapeHtml, type MimeBundle, type Displayable } from "./show";
import { isDataFrame, isSeries, tableBundle } from "./table";
import { figureBundle, type Figure } from "./plot";
import { tensorToPng } from "./image";

function isTensor(value: unknown): value is tf.Tensor {
  if (value instanceof tf.Tensor) return true;
  const v = value as { dataId?: unknown; shape?: unknown; dtype?: unknown } | null;
  return (
    v != null &&
    typeof v === "object" &&
    v.dataId !== undefined &&
    Array.isArray(v.shape) &&
    typeof v.dtype === "string"
  );
}

/** A plotly figure: `{ data: [trace, ...], layout? }` where traces are objects. */
export function isFigure(value: unknown): value is Figure {
  const v = value as Figure;
  return (
    v != null &&
    typeof v === "object" &&
    Array.isArray(v.data) &&
    v.data.length > 0 &&
    v.data.every(
      (t) =>
        t != null &&
        typeof t === "object" &&
        !Array.isArray(t) &&
        ("type" in t || "x" in t || "y" in t || "z" in t),
    ) &&
    Object.keys(v).every((k) => ["data", "layout", "config", "frames"].includes(k))
  );
}

/** Values of a tensor with the middle elided: "[1, 2, 3, ..., 98, 99]". */
function elidedValues(values: ArrayLike<number | string>, edge = 3): string {
  const fmt = (v: number | string) =>
    typeof v === "number"
      ? Number.isInteger(v)
        ? String(v)
        : v.toPrecision(4)
      : JSON.stringify(v);
  const all = Array.from(values);
  return all.length <= edge * 2 + 1
    ? `[${all.map(fmt).join(", ")}]`
    : `[${all.slice(0, edge).map(fmt).join(", ")}, …, ${all.slice(-edge).map(fmt).join(", ")}]`;
}

/** Shape, dtype, a few values and simple statistics of a tensor. */
export function tensorSummary(t: tf.Tensor): { text: string; html: string } {
  if (t.isDisposed)
    return {
      text: `Tensor (disposed) shape [${t.shape}] ${t.dtype}`,
      html: `<code>Tensor (disposed) shape [${t.shape}] ${t.dtype}</code>`,
    };
  const values = t.dataSync() as ArrayLike<number>;
  let stats = "";
  if (t.dtype !== "string" && values.length > 0) {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    stats = ` · min ${min.toPrecision(4)} · max ${max.toPrecision(4)} · mean ${(sum / values.length).toPrecision(4)}`;
  }
  const head = `Tensor shape [${t.shape.join(", ")}] ${t.dtype} · ${t.size} values${stats}`;
  const body = elidedValues(values as ArrayLike<number>);
  return {
    text: `${head}\n${body}`,
    html: `<div class="lesson4-tensor"><code>${escapeHtml(head)}</code><pre style="margin:2px 0">${escapeHtml(body)}</pre></div>`,
  };
}

/** Image-shaped tensors: [h, w, 1|3|4] with both sides at least 8 pixels. */
function looksLikeImage(t: tf.Tensor): boolean {
  return (
    t.rank === 3 &&
    [1, 3, 4].includes(t.shape[2]!) &&
    t.shape[0]! >= 8 &&
    t.shape[1]! >= 8 &&
    t.dtype !== "string" &&
    t.dtype !== "bool"
  );
}

/** The MIME bundle for a cell's value, or null for `undefined` (no output, as in tslab). */
export async function richBundle(value: unknown): Promise<MimeBundle | null> {
  if (value === undefined) return null;
  if (value != null && typeof (value as Displayable).toMimeBundle === "function")
    return (value as Displayable).toMimeBundle();
  if (isDataFrame(value) || isSeries(value)) return tableBundle(value);
  if (isTensor(value)) {
    const { text, html } = tensorSummary(value);
    const bundle: MimeBundle = { "text/plain": text, "text/html": html };
    if (!value.isDisposed && looksLikeImage(value))
      bundle["image/png"] = (await tensorToPng(value)).toString("base64");
    return bundle;
  }
  if (isFigure(value)) return figureBundle(value);
  return { "text/plain": inspect(value, { depth: 4, colors: false, maxArrayLength: 100 }) };
}
