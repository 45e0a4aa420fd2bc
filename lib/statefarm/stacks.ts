/**
 * Notebook 04 writes each model's layer stack the way the lecture's Keras code reads
 * (tf.sequential with tf.layers.*) and then trains lib/statefarm/models.ts' version of it. This
 * checks, layer by layer, that the two are the same stack: the same kind of layer (lib's stand-ins
 * counted as the Keras layer they replace), output shape, parameter count and settings.
 */
import type * as tf from "@tensorflow/tfjs";

/**
 * The Keras layer each of lib's own layers stands for. MatmulConv2D is Conv2D (valid padding,
 * stride 1) with its own gradient (lib/statefarm/conv.ts); SeededDropout is Dropout with a new
 * seeded mask per batch (lib/engine/seeded.ts). lib's BatchNormalization keeps Keras' class name.
 */
export const KERAS_CLASS: Readonly<Record<string, string>> = {
  MatmulConv2D: "Conv2D",
  SeededDropout: "Dropout",
};

/** The settings compared where both layers have them (shape and parameter count cover the rest). */
export const COMPARED_SETTINGS = [
  "units",
  "activation",
  "filters",
  "kernelSize",
  "strides",
  "padding",
  "poolSize",
  "rate",
  "axis",
  "momentum",
  "epsilon",
] as const;

/** One row per layer position: what each stack has there and whether it matches. */
export interface StackRow {
  "#": number;
  written: string;
  lib: string;
  "output shape": string;
  params: number | string;
  /** "yes", or what differs. */
  same: string;
}

export interface StackComparison {
  rows: StackRow[];
  /** True when every layer matches and the stacks have as many layers. */
  same: boolean;
  /** The first difference, e.g. "layer 3: units 100 vs 128"; undefined when the stacks are the same. */
  difference?: string;
}

/** A layer's class as Keras names it. */
export function kerasClass(layer: tf.layers.Layer): string {
  const name = layer.getClassName();
  return KERAS_CLASS[name] ?? name;
}

/** 3 and [3, 3] are the same kernel, stride or pool size. */
function normalised(key: string, value: unknown): unknown {
  if (
    (key === "kernelSize" || key === "strides" || key === "poolSize") &&
    typeof value === "number"
  )
    return [value, value];
  return value;
}

function describe(layer: tf.layers.Layer | undefined): string {
  return layer
    ? `${kerasClass(layer)}${layer.getClassName() !== kerasClass(layer) ? ` (${layer.getClassName()})` : ""}`
    : "—";
}

function shapeOf(layer: tf.layers.Layer): string {
  return JSON.stringify(layer.outputShape);
}

/** What differs between two layers at one position, or [] when they match. */
function differences(a: tf.layers.Layer, b: tf.layers.Layer): string[] {
  const out: string[] = [];
  if (kerasClass(a) !== kerasClass(b)) out.push(`${kerasClass(a)} vs ${kerasClass(b)}`);
  if (shapeOf(a) !== shapeOf(b)) out.push(`output ${shapeOf(a)} vs ${shapeOf(b)}`);
  if (a.countParams() !== b.countParams())
    out.push(`${a.countParams()} vs ${b.countParams()} parameters`);
  const ca = a.getConfig() as Record<string, unknown>,
    cb = b.getConfig() as Record<string, unknown>;
  for (const key of COMPARED_SETTINGS) {
    if (!(key in ca) || !(key in cb)) continue;
    const va = JSON.stringify(normalised(key, ca[key])),
      vb = JSON.stringify(normalised(key, cb[key]));
    if (va !== vb) out.push(`${key} ${va} vs ${vb}`);
  }
  return out;
}

/**
 * Compares the stack written in a notebook with the one lib builds, layer by layer. Both models
 * must be built (a first layer with an inputShape builds a tf.sequential).
 */
export function compareStacks(written: tf.LayersModel, built: tf.LayersModel): StackComparison {
  const n = Math.max(written.layers.length, built.layers.length);
  const rows: StackRow[] = [];
  let difference: string | undefined;
  for (let i = 0; i < n; i++) {
    const a = written.layers[i],
      b = built.layers[i];
    const diff =
      a && b ? differences(a, b) : [a ? "missing in lib's stack" : "missing in the written stack"];
    if (diff.length > 0 && difference === undefined)
      difference = `layer ${i + 1}: ${diff.join(", ")}`;
    rows.push({
      "#": i + 1,
      written: describe(a),
      lib: describe(b),
      "output shape": a ? shapeOf(a) : shapeOf(b),
      params:
        a && b && a.countParams() === b.countParams()
          ? a.countParams()
          : `${a?.countParams() ?? "—"} / ${b?.countParams() ?? "—"}`,
      same: diff.length === 0 ? "yes" : diff.join(", "),
    });
  }
  return { rows, same: difference === undefined, difference };
}
