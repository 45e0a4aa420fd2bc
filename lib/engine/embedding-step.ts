/**
 * model.fit's training step for models that are only embeddings looked up by index inputs, the dot product of two of
 * them and added one-wide (bias) embeddings: the lesson's dot and bias models. The forward pass, the mean squared
 * error's gradient and its scatter into each embedding's gradient run as one short loop over the batch on the wasm
 * heap, and the fused Adam takes the step as before. tfjs-layers' generic step runs ~40 kernels through the gradient
 * tape per batch to compute the same values, and that bookkeeping, not arithmetic, was most of a batch's time.
 *
 * Same model, weights, optimizer state, loss and callbacks: only model.fit's per-batch function changes, and only
 * where every part of it is recognised; anything else (another layer, loss, metric, sample weights, a lazy or
 * non-fused optimizer, another backend, LESSON4_FAST_STEP=0) takes the generic step.
 */
import * as tf from "@tensorflow/tfjs";
import { FusedAdamOptimizer } from "./fused-adam";
import { FastL2, penaltyOf } from "./fused-l2";
import { finishPendingStep } from "./deferred-step";

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

/** A recognised model: prediction = factors[0] · factors[1] (if any) + the sum of the one-wide `biases`. */
export interface EmbeddingGraph {
  factors: [Lookup, Lookup] | null;
  biases: Lookup[];
}

type AnyLayer = tf.layers.Layer & Record<string, unknown>;
type Node = { inboundLayers: AnyLayer[] };
const MSE_NAMES = new Set(["meanSquaredError", "mse", "MSE", "mean_squared_error"]);

function onlyParents(layer: AnyLayer): AnyLayer[] | null {
  const nodes = layer.inboundNodes as unknown as Node[];
  return nodes.length === 1 ? nodes[0].inboundLayers : null;
}

/** Flatten(Embedding(input)) with nothing that changes its values or gradient, or why not. */
function matchLookup(model: tf.LayersModel, flatten: AnyLayer): Lookup | string {
  if (flatten.getClassName() !== "Flatten") return `${flatten.name} is a ${flatten.getClassName()}, not Flatten(Embedding(input))`;
  const [embedding, ...more] = onlyParents(flatten) ?? [];
  if (!embedding || more.length || embedding.getClassName() !== "Embedding") return `${flatten.name} does not flatten one Embedding`;
  const e = embedding as AnyLayer & { inputDim: number; outputDim: number; embeddings: { read(): tf.Variable } };
  if (e.activityRegularizer || e.embeddingsConstraint || e.maskZero || !e.trainable) return `${e.name} has an activity regularizer, a constraint, maskZero or is frozen`;
  const regularizer = e.embeddingsRegularizer;
  if (regularizer && !(regularizer instanceof FastL2)) return `${e.name}'s regularizer is not FastL2`;
  const [input, ...others] = onlyParents(e) ?? [];
  const index = model.inputLayers.indexOf(input as unknown as tf.layers.Layer);
  if (!input || others.length || index < 0) return `${e.name} does not read a model input directly`;
  const shape = model.inputs[index].shape;
  if (shape.length !== 2 || shape[1] !== 1) return `input ${index} is not one index per example`;
  return { variable: e.embeddings.read(), input: index, rows: e.inputDim, width: e.outputDim, l2: regularizer ? (regularizer as FastL2).rate : 0, layerName: e.name };
}

function matchDot(model: tf.LayersModel, dot: AnyLayer): [Lookup, Lookup] | string {
  const axes = dot.axes as number | number[];
  const onFeatures = [1, -1].includes(Array.isArray(axes) ? (axes[0] === axes[1] ? axes[0] : 0) : axes);
  if (!onFeatures || dot.normalize) return `${dot.name} is not a plain dot product over features`;
  const parents = onlyParents(dot);
  if (!parents || parents.length !== 2) return `${dot.name} does not take two inputs`;
  const [a, b] = parents.map((p) => matchLookup(model, p));
  if (typeof a === "string") return a;
  if (typeof b === "string") return b;
  if (a.width !== b.width) return `${dot.name}'s embeddings differ in width`;
  return [a, b];
}

/** The model's structure if the fast step can train it, else a sentence saying what it does not recognise. */
export function matchEmbeddingGraph(model: tf.LayersModel): EmbeddingGraph | string {
  if (model.outputs.length !== 1 || model.inputs.length < 1) return "the model does not have one output";
  const out = model.outputLayers[0] as AnyLayer;
  const terms = out.getClassName() === "Add" ? onlyParents(out) : [out];
  if (!terms) return `${out.name} is shared`;
  const graph: EmbeddingGraph = { factors: null, biases: [] };
  for (const term of terms) {
    if (term.getClassName() === "Dot") {
      if (graph.factors) return "more than one dot product";
      const factors = matchDot(model, term);
      if (typeof factors === "string") return factors;
      graph.factors = factors;
    } else {
      const lookup = matchLookup(model, term);
      if (typeof lookup === "string") return lookup;
      if (lookup.width !== 1) return `${lookup.layerName} is added to the output but is ${lookup.width} wide`;
      graph.biases.push(lookup);
    }
  }
  const lookups = [...(graph.factors ?? []), ...graph.biases];
  const names = new Set(lookups.map((l) => l.variable.name));
  const trainable = (model as unknown as { collectedTrainableWeights: Array<{ read(): tf.Variable }> }).collectedTrainableWeights;
  if (names.size !== lookups.length) return "an embedding is used twice";
  if (trainable.length !== names.size || !trainable.every((w) => names.has(w.read().name))) return "the model has weights outside its embeddings";
  return graph;
}

/** Why model.fit cannot use the fast step right now (backend, optimizer, loss, metrics), or null when it can. */
function unsupportedSetup(model: tf.LayersModel): string | null {
  if (process.env.LESSON4_FAST_STEP === "0") return "LESSON4_FAST_STEP=0";
  if (tf.getBackend() !== "wasm") return `the ${tf.getBackend()} backend`;
  const optimizer = model.optimizer;
  if (!(optimizer instanceof FusedAdamOptimizer) || optimizer.lazy || !optimizer.foldL2) return "the optimizer is not createAdam's dense fused Adam";
  const m = model as unknown as { loss: unknown; metricsTensors: unknown[] };
  if (typeof m.loss !== "string" || !MSE_NAMES.has(m.loss)) return "the loss is not mean squared error";
  if (m.metricsTensors.length) return "the model has metrics";
  return null;
}

type HeapBackend = { typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray };

/**
 * The step for one fit: per batch, data is [input indices..., targets]. Gradients live in zeroed tensors kept for the
 * whole fit; each step writes only the rows its batch touched and zeroes them again before the next.
 */
class EmbeddingStep {
  private readonly lookups: Lookup[];
  private readonly gradients = new Map<string, tf.Tensor>();
  private touched: Array<{ name: string; rows: Int32Array; width: number }> = [];

  constructor(
    private readonly graph: EmbeddingGraph,
    private readonly optimizer: FusedAdamOptimizer,
    /** Variable names in collectedTrainableWeights order: the optimizer keeps its moments by position. */
    private readonly order: string[],
  ) {
    this.lookups = [...(graph.factors ?? []), ...graph.biases];
  }

  private gradient(lookup: Lookup): tf.Tensor {
    let g = this.gradients.get(lookup.variable.name);
    if (!g) {
      g = tf.keep(tf.zeros([lookup.rows, lookup.width]));
      this.gradients.set(lookup.variable.name, g);
    }
    return g;
  }

  run(data: tf.Tensor[], inputCount: number): tf.Scalar {
    finishPendingStep(); // the helper thread may still be writing weights, moments, or reading a gradient
    const backend = tf.backend() as unknown as HeapBackend;
    const gradients = this.lookups.map((l) => this.gradient(l));
    const heap = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t);
    // Views only after every allocation: allocating can grow (and so move) the heap.
    const grads = gradients.map((g) => heap(g) as Float32Array);
    for (const { name, rows, width } of this.touched) {
      const g = grads[this.lookups.findIndex((l) => l.variable.name === name)];
      for (const r of rows) g.fill(0, r * width, (r + 1) * width);
    }
    this.touched = [];
    const target = heap(data[inputCount]) as Float32Array;
    const batch = target.length;
    const indices = this.lookups.map((l) => {
      const values = heap(data[l.input]);
      if (values.length !== batch) throw new RangeError(`input ${l.input} has ${values.length} values for ${batch} targets`);
      const rows = new Int32Array(batch);
      for (let i = 0; i < batch; i++) {
        const r = Math.trunc(values[i]);
        if (!(r >= 0 && r < l.rows)) throw new RangeError(`${l.layerName} has rows 0..${l.rows - 1}, but example ${i} of this batch looks up ${values[i]}: re-index the ids (IdIndex) or give the Embedding inputDim > ${values[i]}`);
        rows[i] = r;
      }
      return rows;
    });
    const weights = this.lookups.map((l) => heap(l.variable) as Float32Array);
    const f = Math.fround;
    const scale = 2 / batch;
    let squares = 0;
    const factors = this.graph.factors ? 2 : 0;
    const width = this.graph.factors?.[0].width ?? 0;
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
      for (let j = factors; j < this.lookups.length; j++) prediction = f(prediction + weights[j][indices[j][i]]);
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
    let loss = squares / batch;
    const l2 = new Map<string, number>();
    for (const l of this.lookups) {
      if (!l.l2) continue;
      loss += penaltyOf(l.variable, l.l2);
      l2.set(l.variable.name, Math.fround(2 * l.l2));
    }
    this.touched = this.lookups.map((l, j) => ({ name: l.variable.name, rows: indices[j], width: l.width }));
    const byName = new Map(this.lookups.map((l, j) => [l.variable.name, gradients[j]]));
    const ordered: tf.NamedTensorMap = {};
    for (const name of this.order) ordered[name] = byName.get(name)!;
    this.optimizer.applyGradientsFoldingL2(ordered, l2);
    return tf.scalar(loss);
  }

  dispose(): void {
    finishPendingStep();
    for (const g of this.gradients.values()) g.dispose();
    this.gradients.clear();
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
  const m = model as unknown as {
    makeTrainFunction(): (data: tf.Tensor[]) => tf.Scalar[];
    collectedTrainableWeights: Array<{ read(): tf.Variable }>;
    fit(...args: unknown[]): Promise<tf.History>;
    fitDataset(...args: unknown[]): Promise<tf.History>;
  };
  const generic = m.makeTrainFunction;
  let current: EmbeddingStep | null = null;
  m.makeTrainFunction = function (this: unknown) {
    const fallback = generic.call(model);
    current?.dispose();
    current = null;
    const graph = matchEmbeddingGraph(model);
    if (typeof graph === "string" || unsupportedSetup(model)) return fallback;
    const step = new EmbeddingStep(graph, model.optimizer as FusedAdamOptimizer, m.collectedTrainableWeights.map((w) => w.read().name));
    current = step;
    const inputCount = model.inputs.length;
    // data is [inputs..., targets, sample weights (undefined when none)].
    const plain = (data: tf.Tensor[]) => data.length >= inputCount + 1 && data.slice(inputCount + 1).every((w) => w == null);
    return (data: tf.Tensor[]) => (plain(data) && tf.getBackend() === "wasm" ? [step.run(data, inputCount)] : fallback(data));
  };
  for (const method of ["fit", "fitDataset"] as const) {
    const original = m[method];
    m[method] = async function (this: unknown, ...args: unknown[]) {
      try {
        return await original.apply(model, args);
      } finally {
        current?.dispose();
        current = null;
      }
    };
  }
}

/** Why model.fit would take tfjs-layers' generic step for `model` now, or null when it takes the fast one. */
export function whyGenericStep(model: tf.LayersModel): string | null {
  const graph = matchEmbeddingGraph(model);
  return typeof graph === "string" ? graph : unsupportedSetup(model);
}
