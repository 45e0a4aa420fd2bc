/**
 * model.fit's training step for the lesson's collaborative-filtering models, made of embeddings looked up by index
 * inputs and then either their dot product plus one-wide (bias) embeddings, or their concatenation through a chain of
 * Dense layers and SeededDropout (the neural-net model). The forward pass, the mean squared error's gradient and its
 * scatter into each embedding's gradient run as a few loops over the batch on the wasm heap (Dense products in the
 * SIMD module), and the fused Adam takes the step as before. tfjs-layers' generic step runs 40-90 kernels through
 * the gradient tape per batch to compute the same values, and for these small models that bookkeeping, not the
 * arithmetic, is most of a batch's time.
 *
 * Same model, weights, optimizer state, dropout masks, loss and callbacks: only model.fit's per-batch function
 * changes, and only where every part of it is recognised; anything else (another layer, loss, metric, sample
 * weights, a lazy or non-fused optimizer, another backend, LESSON4_FAST_STEP=0) takes the generic step.
 */
import * as tf from "@tensorflow/tfjs";
import { FusedAdamOptimizer } from "../fused-adam";
import { FastL2, penaltyOf } from "../fused-l2";
import { finishPendingStep } from "../deferred-step";
import { SeededDropout } from "../seeded";
import { dropoutMask } from "../dropout";
import { backendSimd, type SimdKernels } from "../wasm-simd";
import { replaceTrainFunction, type TrainFunction } from "../tfjs-patches";
import { engineSwitch } from "../../config";

/** One embedding looked up by one of the model's inputs: its weights are [rows, width]. */
export interface Lookup {
  variable: tf.Variable;
  /** Which model input holds its indices. */
  input: number;
  rows: number;
  width: number;
  /** FastL2 rate on the matrix (Keras-style l2 * sum(w²) in the loss), 0 for none. */
  l2: number;
  layerName: string;
}

/** A Dense layer (kernel [inputs, units], bias, ReLU or no activation) or a SeededDropout, in a chain after the concatenation. */
export type Stage =
  | {
      kind: "dense";
      kernel: tf.Variable;
      bias: tf.Variable;
      relu: boolean;
      inputs: number;
      units: number;
    }
  | { kind: "dropout"; layer: SeededDropout; width: number };

/**
 * A recognised model: "dot", prediction = factors[0] · factors[1] (if any) + the sum of the one-wide `biases`; or
 * "chain", the looked-up vectors concatenated in order and passed through `stages` to one output.
 */
export type EmbeddingGraph =
  | { kind: "dot"; factors: [Lookup, Lookup] | null; biases: Lookup[] }
  | { kind: "chain"; lookups: Lookup[]; stages: Stage[] };

/** The graph's embeddings, in the order the step handles their gradients. */
const lookupsOf = (graph: EmbeddingGraph): Lookup[] =>
  graph.kind === "dot" ? [...(graph.factors ?? []), ...graph.biases] : graph.lookups;
const stageVariables = (graph: EmbeddingGraph): tf.Variable[] =>
  graph.kind === "chain"
    ? graph.stages.flatMap((s) => (s.kind === "dense" ? [s.kernel, s.bias] : []))
    : [];

type AnyLayer = tf.layers.Layer & Record<string, unknown>;
type Node = { inboundLayers: AnyLayer[] };
const MSE_NAMES = new Set(["meanSquaredError", "mse", "MSE", "mean_squared_error"]);

function onlyParents(layer: AnyLayer): AnyLayer[] | null {
  const nodes = layer.inboundNodes as unknown as Node[];
  return nodes.length === 1 ? nodes[0].inboundLayers : null;
}

/** Flatten(Embedding(input)) with nothing that changes its values or gradient, or why not. */
function matchLookup(model: tf.LayersModel, flatten: AnyLayer): Lookup | string {
  if (flatten.getClassName() !== "Flatten")
    return `${flatten.name} is a ${flatten.getClassName()}, not Flatten(Embedding(input))`;
  const [embedding, ...more] = onlyParents(flatten) ?? [];
  if (!embedding || more.length || embedding.getClassName() !== "Embedding")
    return `${flatten.name} does not flatten one Embedding`;
  const e = embedding as AnyLayer & {
    inputDim: number;
    outputDim: number;
    embeddings: { read(): tf.Variable };
  };
  if (e.activityRegularizer || e.embeddingsConstraint || e.maskZero || !e.trainable)
    return `${e.name} has an activity regularizer, a constraint, maskZero or is frozen`;
  const regularizer = e.embeddingsRegularizer;
  if (regularizer && !(regularizer instanceof FastL2))
    return `${e.name}'s regularizer is not FastL2`;
  const [input, ...others] = onlyParents(e) ?? [];
  const index = model.inputLayers.indexOf(input as unknown as tf.layers.Layer);
  if (!input || others.length || index < 0) return `${e.name} does not read a model input directly`;
  const shape = model.inputs[index].shape;
  if (shape.length !== 2 || shape[1] !== 1) return `input ${index} is not one index per example`;
  return {
    variable: e.embeddings.read(),
    input: index,
    rows: e.inputDim,
    width: e.outputDim,
    l2: regularizer ? (regularizer as FastL2).rate : 0,
    layerName: e.name,
  };
}

function matchDot(model: tf.LayersModel, dot: AnyLayer): [Lookup, Lookup] | string {
  const axes = dot.axes as number | number[];
  const onFeatures = [1, -1].includes(
    Array.isArray(axes) ? (axes[0] === axes[1] ? axes[0] : 0) : axes,
  );
  if (!onFeatures || dot.normalize) return `${dot.name} is not a plain dot product over features`;
  const parents = onlyParents(dot);
  if (!parents || parents.length !== 2) return `${dot.name} does not take two inputs`;
  const [a, b] = parents.map((p) => matchLookup(model, p));
  if (typeof a === "string") return a;
  if (typeof b === "string") return b;
  if (a.width !== b.width) return `${dot.name}'s embeddings differ in width`;
  return [a, b];
}

/** Dense(ReLU or linear, with bias, no regularizer or constraint) and SeededDropout layers back to a Concatenate, or why not. */
function matchChain(model: tf.LayersModel, out: AnyLayer): EmbeddingGraph | string {
  const stages: Stage[] = [];
  let layer = out;
  while (layer.getClassName() !== "Concatenate") {
    if (layer instanceof SeededDropout) stages.unshift({ kind: "dropout", layer, width: 0 });
    else if (layer.getClassName() === "Dense") {
      const d = layer as AnyLayer & {
        kernel: { read(): tf.Variable } | null;
        bias: { read(): tf.Variable } | null;
        activation: { getClassName(): string };
      };
      const activation = d.activation.getClassName();
      if (
        !d.kernel ||
        !d.bias ||
        d.kernelRegularizer ||
        d.biasRegularizer ||
        d.activityRegularizer ||
        d.kernelConstraint ||
        d.biasConstraint ||
        !d.trainable
      )
        return `${d.name} lacks a bias or has a regularizer, a constraint or is frozen`;
      if (activation !== "relu" && activation !== "linear")
        return `${d.name}'s activation is ${activation}, not relu or linear`;
      const kernel = d.kernel.read();
      const [inputs, units] = kernel.shape as number[];
      if (kernel.rank !== 2) return `${d.name} is not a plain Dense layer`;
      stages.unshift({
        kind: "dense",
        kernel,
        bias: d.bias.read(),
        relu: activation === "relu",
        inputs,
        units,
      });
    } else
      return `${layer.name} is a ${layer.getClassName()} (the fast step knows Dot, Add, Concatenate, Dense and SeededDropout)`;
    const parents = onlyParents(layer);
    if (!parents || parents.length !== 1) return `${layer.name} does not take one input`;
    layer = parents[0];
  }
  const axis = layer.axis as number;
  if (axis !== -1 && axis !== 1) return `${layer.name} does not concatenate features`;
  const lookups: Lookup[] = [];
  for (const parent of onlyParents(layer) ?? []) {
    const lookup = matchLookup(model, parent);
    if (typeof lookup === "string") return lookup;
    lookups.push(lookup);
  }
  let width = lookups.reduce((sum, l) => sum + l.width, 0);
  for (const stage of stages) {
    if (stage.kind === "dropout") stage.width = width;
    else if (stage.inputs !== width)
      return "a Dense layer's inputs do not match the width before it";
    else width = stage.units;
  }
  const last = stages[stages.length - 1];
  if (!lookups.length || !last || last.kind !== "dense" || last.units !== 1 || last.relu)
    return "the chain does not end in a linear Dense layer with one unit";
  return { kind: "chain", lookups, stages };
}

/** The model's structure if the fast step can train it, else a sentence saying what it does not recognise. */
export function matchEmbeddingGraph(model: tf.LayersModel): EmbeddingGraph | string {
  if (model.outputs.length !== 1 || model.inputs.length < 1)
    return "the model does not have one output";
  const out = model.outputLayers[0] as AnyLayer;
  let graph: EmbeddingGraph;
  if (out.getClassName() === "Dense") {
    const chain = matchChain(model, out);
    if (typeof chain === "string") return chain;
    graph = chain;
  } else {
    const terms = out.getClassName() === "Add" ? onlyParents(out) : [out];
    if (!terms) return `${out.name} is shared`;
    const dot: EmbeddingGraph = { kind: "dot", factors: null, biases: [] };
    for (const term of terms) {
      if (term.getClassName() === "Dot") {
        if (dot.factors) return "more than one dot product";
        const factors = matchDot(model, term);
        if (typeof factors === "string") return factors;
        dot.factors = factors;
      } else {
        const lookup = matchLookup(model, term);
        if (typeof lookup === "string") return lookup;
        if (lookup.width !== 1)
          return `${lookup.layerName} is added to the output but is ${lookup.width} wide`;
        dot.biases.push(lookup);
      }
    }
    graph = dot;
  }
  const variables = [...lookupsOf(graph).map((l) => l.variable), ...stageVariables(graph)];
  const names = new Set(variables.map((v) => v.name));
  const trainable = (
    model as unknown as { collectedTrainableWeights: Array<{ read(): tf.Variable }> }
  ).collectedTrainableWeights;
  if (names.size !== variables.length) return "a weight is used twice";
  if (trainable.length !== names.size || !trainable.every((w) => names.has(w.read().name)))
    return "the model has weights outside the recognised layers";
  return graph;
}

/** Why model.fit cannot use the fast step right now (backend, optimizer, loss, metrics), or null when it can. */
function unsupportedSetup(model: tf.LayersModel): string | null {
  if (!engineSwitch("LESSON4_FAST_STEP")) return "LESSON4_FAST_STEP=0";
  if (tf.getBackend() !== "wasm") return `the ${tf.getBackend()} backend`;
  const optimizer = model.optimizer;
  if (!(optimizer instanceof FusedAdamOptimizer) || optimizer.lazy || !optimizer.foldL2)
    return "the optimizer is not createAdam's dense fused Adam";
  const m = model as unknown as { loss: unknown; metricsTensors: unknown[] };
  if (typeof m.loss !== "string" || !MSE_NAMES.has(m.loss))
    return "the loss is not mean squared error";
  if (m.metricsTensors.length) return "the model has metrics";
  if (!backendSimd(tf.backend())) return "no SIMD WebAssembly for the Dense products";
  return null;
}

type HeapBackend = {
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
};

/**
 * c = a · b for m x k and k x n row-major b and c, with a[i, p] at a[i * saI + p * saK] (so a may be read transposed),
 * in the SIMD module where its 4-wide read of b's last columns stays inside the heap, the rest here.
 */
function product(
  kernels: SimdKernels,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  saI: number,
  saK: number,
): void {
  const cols = b.byteOffset + 4 * (k * n + 3) <= b.buffer.byteLength ? n : n - (n % 4);
  if (cols) kernels.matMul(a.byteOffset, b.byteOffset, c.byteOffset, m, k, cols, n, saI, saK);
  for (let i = 0; i < m; i++)
    for (let j = cols; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++)
        sum = Math.fround(sum + Math.fround(a[i * saI + p * saK] * b[p * n + j]));
      c[i * n + j] = sum;
    }
}

/**
 * The step for one fit: per batch, data is [input indices..., targets]. Gradients live in tensors kept for the whole
 * fit; an embedding's is zero but for the rows its batch touched, which the next step zeroes again.
 */
class EmbeddingStep {
  private readonly lookups: Lookup[];
  private readonly gradients = new Map<string, tf.Tensor>();
  private touched: Array<{ name: string; rows: Int32Array; width: number }> = [];
  /** Heap room for the chain's activations and their gradients, as one kept tensor (grown for a larger batch). */
  private scratch: tf.Tensor | null = null;

  constructor(
    private readonly graph: EmbeddingGraph,
    private readonly optimizer: FusedAdamOptimizer,
    /** Variable names in collectedTrainableWeights order: the optimizer keeps its moments by position. */
    private readonly order: string[],
  ) {
    this.lookups = lookupsOf(graph);
  }

  private gradient(variable: tf.Variable): tf.Tensor {
    let g = this.gradients.get(variable.name);
    if (!g) {
      g = tf.keep(tf.zeros(variable.shape));
      this.gradients.set(variable.name, g);
    }
    return g;
  }

  run(data: tf.Tensor[], inputCount: number): tf.Scalar {
    finishPendingStep(); // the helper thread may still be writing weights, moments, or reading a gradient
    const backend = tf.backend() as unknown as HeapBackend;
    const kernels = backendSimd(backend);
    const batch = data[inputCount].size;
    // Everything that allocates first: gradient tensors, scratch, dropout masks (drawn in the layers' own streams).
    const variables = [...this.lookups.map((l) => l.variable), ...stageVariables(this.graph)];
    const gradients = variables.map((v) => this.gradient(v));
    const masks = this.graph.kind === "chain" ? this.dropoutMasks(batch) : [];
    const layout = this.graph.kind === "chain" ? this.layout(batch) : null;
    if (layout && (!this.scratch || this.scratch.size < layout.size)) {
      this.scratch?.dispose();
      this.scratch = tf.keep(tf.zeros([layout.size]));
    }
    // Views only after every allocation: allocating can grow (and so move) the heap.
    const heap = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t);
    const grads = gradients.map((g) => heap(g) as Float32Array);
    for (const { name, rows, width } of this.touched) {
      const g = grads[this.lookups.findIndex((l) => l.variable.name === name)];
      for (const r of rows) g.fill(0, r * width, (r + 1) * width);
    }
    this.touched = [];
    const target = heap(data[inputCount]) as Float32Array;
    const indices = this.lookups.map((l) => {
      const values = heap(data[l.input]);
      if (values.length !== batch)
        throw new RangeError(`input ${l.input} has ${values.length} values for ${batch} targets`);
      const rows = new Int32Array(batch);
      for (let i = 0; i < batch; i++) {
        const r = Math.trunc(values[i]);
        if (!(r >= 0 && r < l.rows))
          throw new RangeError(
            `${l.layerName} has rows 0..${l.rows - 1}, but example ${i} of this batch looks up ${values[i]}: re-index the ids (IdIndex) or give the Embedding inputDim > ${values[i]}`,
          );
        rows[i] = r;
      }
      return rows;
    });
    const weights = variables.map((v) => heap(v) as Float32Array);
    const squares =
      this.graph.kind === "dot"
        ? this.dotStep(this.graph, batch, indices, weights, grads, target)
        : this.chainStep(
            this.graph,
            kernels!,
            batch,
            indices,
            weights,
            grads,
            target,
            masks,
            heap(this.scratch!) as Float32Array,
            layout!,
          );
    let loss = squares / batch;
    const l2 = new Map<string, number>();
    for (const l of this.lookups) {
      if (!l.l2) continue;
      loss += penaltyOf(l.variable, l.l2);
      l2.set(l.variable.name, Math.fround(2 * l.l2));
    }
    this.touched = this.lookups.map((l, j) => ({
      name: l.variable.name,
      rows: indices[j],
      width: l.width,
    }));
    const byName = new Map(variables.map((v, j) => [v.name, gradients[j]]));
    const ordered: tf.NamedTensorMap = {};
    for (const name of this.order) ordered[name] = byName.get(name)!;
    this.optimizer.applyGradientsFoldingL2(ordered, l2);
    return tf.scalar(loss);
  }

  /** Forward and backward of the dot model; returns the sum of squared errors. */
  private dotStep(
    graph: Extract<EmbeddingGraph, { kind: "dot" }>,
    batch: number,
    indices: Int32Array[],
    weights: Float32Array[],
    grads: Float32Array[],
    target: Float32Array,
  ): number {
    const f = Math.fround;
    const scale = 2 / batch;
    let squares = 0;
    const factors = graph.factors ? 2 : 0;
    const width = graph.factors?.[0].width ?? 0;
    for (let i = 0; i < batch; i++) {
      let prediction = 0;
      let a = 0;
      let b = 0;
      if (factors) {
        a = indices[0][i] * width;
        b = indices[1][i] * width;
        const wa = weights[0];
        const wb = weights[1];
        let dot = 0;
        for (let k = 0; k < width; k++) dot += wa[a + k] * wb[b + k];
        prediction = f(dot);
      }
      for (let j = factors; j < this.lookups.length; j++)
        prediction = f(prediction + weights[j][indices[j][i]]);
      const error = f(prediction - target[i]);
      squares += error * error;
      const d = f(error * scale); // d loss / d prediction for the batch mean of squared errors
      if (factors) {
        const [wa, wb] = weights;
        const [ga, gb] = grads;
        for (let k = 0; k < width; k++) {
          ga[a + k] += d * wb[b + k];
          gb[b + k] += d * wa[a + k];
        }
      }
      for (let j = factors; j < this.lookups.length; j++) grads[j][indices[j][i]] += d;
    }
    return squares;
  }

  /** Each dropout stage's keep flags for this batch, from the layer's own stream (as its call() draws them). */
  private dropoutMasks(batch: number): Array<Float32Array | null> {
    if (this.graph.kind !== "chain") return [];
    return this.graph.stages.map((stage) => {
      if (stage.kind !== "dropout" || stage.layer.rate === 0) return null;
      const seed = stage.layer.nextMaskSeed();
      const keep = dropoutMask(
        [batch, stage.width],
        seed,
        stage.layer.rate,
        stage.layer.keptScale(),
      );
      const values = keep.dataSync() as Float32Array;
      keep.dispose();
      return values;
    });
  }

  /** Where each stage's input, output and gradients sit in the scratch tensor (float offsets, 16-byte aligned). */
  private layout(batch: number) {
    const graph = this.graph as Extract<EmbeddingGraph, { kind: "chain" }>;
    let size = 0;
    const take = (n: number) => {
      const at = size;
      size += (n + 3) & ~3;
      return at;
    };
    // acts[s] is the input of stage s (acts[0] the concatenation), grads likewise; one transposed buffer for products.
    const widths = [
      graph.lookups.reduce((sum, l) => sum + l.width, 0),
      ...graph.stages.map((s) => (s.kind === "dense" ? s.units : s.width)),
    ];
    const acts = widths.map((w) => take(batch * w));
    const deltas = widths.map((w) => take(batch * w));
    const maxWidth = Math.max(...widths);
    const transposed = take(batch * maxWidth);
    const transposedOut = take(batch * maxWidth);
    return { size: size + 4, widths, acts, deltas, transposed, transposedOut };
  }

  /** Forward and backward of a concatenation through Dense and dropout stages; returns the sum of squared errors. */
  private chainStep(
    graph: Extract<EmbeddingGraph, { kind: "chain" }>,
    kernels: SimdKernels,
    batch: number,
    indices: Int32Array[],
    weights: Float32Array[],
    grads: Float32Array[],
    target: Float32Array,
    masks: Array<Float32Array | null>,
    scratch: Float32Array,
    layout: ReturnType<EmbeddingStep["layout"]>,
  ): number {
    const f = Math.fround;
    const { widths } = layout;
    const view = (at: number, n: number) => scratch.subarray(at, at + n);
    const acts = layout.acts.map((at, s) => view(at, batch * widths[s]));
    const deltas = layout.deltas.map((at, s) => view(at, batch * widths[s]));
    const transposed = view(layout.transposed, batch * Math.max(...widths));
    const transposedOut = view(layout.transposedOut, batch * Math.max(...widths));
    const lookups = graph.lookups;
    // The concatenation of the looked-up vectors.
    const x0 = acts[0];
    const w0 = widths[0];
    for (let j = 0, offset = 0; j < lookups.length; offset += lookups[j].width, j++) {
      const width = lookups[j].width;
      const rows = indices[j];
      const table = weights[j];
      for (let i = 0; i < batch; i++)
        for (let k = 0, from = rows[i] * width, o = i * w0 + offset; k < width; k++)
          x0[o + k] = table[from + k];
    }
    // Stage weights follow the lookups' in `weights` and `grads`: kernel, bias per Dense layer.
    let w = lookups.length;
    const denseAt: number[] = [];
    for (let s = 0; s < graph.stages.length; s++) {
      const stage = graph.stages[s];
      const x = acts[s];
      const y = acts[s + 1];
      if (stage.kind === "dropout") {
        // keep holds 0 or 1 / (1 - rate): the layer's x.mul(mask)
        const keep = masks[s];
        if (keep) for (let i = 0; i < y.length; i++) y[i] = f(x[i] * keep[i]);
        else y.set(x);
        continue;
      }
      denseAt[s] = w;
      const kernel = weights[w];
      const bias = weights[w + 1];
      w += 2;
      product(kernels, x, kernel, y, batch, stage.inputs, stage.units, stage.inputs, 1);
      for (let i = 0; i < batch; i++)
        for (let j = 0, o = i * stage.units; j < stage.units; j++, o++) {
          const v = f(y[o] + bias[j]);
          y[o] = stage.relu && !(v > 0) ? 0 : v;
        }
    }
    // The loss's gradient with respect to the output, then back through the stages.
    const out = acts[graph.stages.length];
    const delta = deltas[graph.stages.length];
    const scale = 2 / batch;
    let squares = 0;
    for (let i = 0; i < batch; i++) {
      const error = f(out[i] - target[i]);
      squares += error * error;
      delta[i] = f(error * scale);
    }
    for (let s = graph.stages.length - 1; s >= 0; s--) {
      const stage = graph.stages[s];
      const dy = deltas[s + 1];
      const dx = deltas[s];
      if (stage.kind === "dropout") {
        const keep = masks[s];
        if (keep) for (let i = 0; i < dx.length; i++) dx[i] = f(dy[i] * keep[i]);
        else dx.set(dy);
        continue;
      }
      const at = denseAt[s];
      const { inputs, units } = stage;
      if (stage.relu) {
        const y = acts[s + 1];
        for (let i = 0; i < dy.length; i++) if (!(y[i] > 0)) dy[i] = 0;
      }
      // kernel gradient x^T · dy (x read transposed), bias gradient the column sums of dy
      product(kernels, acts[s], dy, grads[at], inputs, batch, units, 1, inputs);
      const gb = grads[at + 1];
      gb.fill(0);
      for (let i = 0; i < batch; i++)
        for (let j = 0; j < units; j++) gb[j] = f(gb[j] + dy[i * units + j]);
      // input gradient dy · kernel^T, as (kernel · dy^T)^T
      for (let i = 0; i < batch; i++)
        for (let j = 0; j < units; j++) transposed[j * batch + i] = dy[i * units + j];
      product(kernels, weights[at], transposed, transposedOut, inputs, units, batch, units, 1);
      for (let p = 0; p < inputs; p++)
        for (let i = 0; i < batch; i++) dx[i * inputs + p] = transposedOut[p * batch + i];
    }
    // Scatter the concatenation's gradient into the embeddings' rows.
    const d0 = deltas[0];
    for (let j = 0, offset = 0; j < lookups.length; offset += lookups[j].width, j++) {
      const width = lookups[j].width;
      const rows = indices[j];
      const g = grads[j];
      for (let i = 0; i < batch; i++)
        for (let k = 0, to = rows[i] * width, o = i * w0 + offset; k < width; k++)
          g[to + k] += d0[o + k];
    }
    return squares;
  }

  dispose(): void {
    finishPendingStep();
    for (const g of this.gradients.values()) g.dispose();
    this.gradients.clear();
    this.scratch?.dispose();
    this.scratch = null;
    this.touched = [];
  }
}

const installed = new WeakSet<tf.LayersModel>();

/**
 * Makes model.fit (and fitDataset) train `model` with the fast step whenever its structure and set-up are recognised
 * at the start of a fit; otherwise, and for batches with sample weights, tfjs-layers' own step. Idempotent.
 */
export function useEmbeddingStep(model: tf.LayersModel): void {
  if (installed.has(model)) return;
  installed.add(model);
  // (set by compile, so read when fit makes its train function)
  const trainable = () =>
    (model as unknown as { collectedTrainableWeights: Array<{ read(): tf.Variable }> })
      .collectedTrainableWeights;
  let current: EmbeddingStep | null = null;
  const forget = () => {
    current?.dispose();
    current = null;
  };
  const make = (fallback: TrainFunction): TrainFunction => {
    forget();
    const graph = matchEmbeddingGraph(model);
    if (typeof graph === "string" || unsupportedSetup(model)) return fallback;
    const step = new EmbeddingStep(
      graph,
      model.optimizer as FusedAdamOptimizer,
      trainable().map((w) => w.read().name),
    );
    current = step;
    const inputCount = model.inputs.length;
    // data is [inputs..., targets, sample weights (undefined when none)].
    const plain = (data: tf.Tensor[]) =>
      data.length >= inputCount + 1 && data.slice(inputCount + 1).every((w) => w == null);
    return (data: tf.Tensor[]) =>
      plain(data) && tf.getBackend() === "wasm" ? [step.run(data, inputCount)] : fallback(data);
  };
  replaceTrainFunction(model, make, forget);
}

/** Why model.fit would take tfjs-layers' generic step for `model` now, or null when it takes the fast one. */
export function whyGenericStep(model: tf.LayersModel): string | null {
  const graph = matchEmbeddingGraph(model);
  return typeof graph === "string" ? graph : unsupportedSetup(model);
}
