/**
 * Adam in one pass per variable: a registered kernel (wasm and cpu) reads the weights, gradient and both
 * moments once and writes the three results, in place of the dozen full-size tensor ops tf.train.adam
 * runs per variable. Same rule, same state and config as tf.train.adam; optionally "lazy" on embeddings.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { touchedRows } from "./wasm-kernels";

export const FUSED_ADAM_KERNEL = "LessonFusedAdam";

type TensorInfo = tf.TensorInfo;
interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t for this step t (1-based). */
  correction1: number;
  correction2: number;
  /** Lazy mode: row length, and the rows to update (every other row is left exactly as it was). */
  rowSize?: number;
}

/**
 * m' = b1 m + (1-b1) g; v' = b2 v + (1-b2) g²; x' = x - lr (m'/c1) / (sqrt(v'/c2) + eps), element by element,
 * in float32 storage like tf.train.adam. With `rows`, only those rows change (lazy Adam).
 */
export function adamStep(x: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: [Float32Array, Float32Array, Float32Array], a: AdamAttrs, rows?: Int32Array): void {
  const [xo, mo, vo] = out;
  const b1 = a.beta1;
  const b2 = a.beta2;
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  const step = a.lr / a.correction1;
  const inv2 = 1 / a.correction2;
  const update = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const gi = g[i];
      const mi = b1 * m[i] + c1 * gi;
      const vi = b2 * v[i] + c2 * gi * gi;
      mo[i] = mi;
      vo[i] = vi;
      xo[i] = x[i] - (step * mi) / (Math.sqrt(vi * inv2) + a.epsilon);
    }
  };
  if (!rows) return update(0, x.length);
  if (xo !== x) xo.set(x);
  if (mo !== m) mo.set(m);
  if (vo !== v) vo.set(v);
  const size = a.rowSize!;
  for (let k = 0; k < rows.length; k++) update(rows[k] * size, (rows[k] + 1) * size);
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function wasmKernel(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, g, m, v, rows } = args.inputs as Record<string, TensorInfo>;
  const outs = [x, m, v].map((t) => backend.makeOutput(t.shape, "float32"));
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  adamStep(view(x), view(g), view(m), view(v), outs.map(view) as [Float32Array, Float32Array, Float32Array], args.attrs as unknown as AdamAttrs, rows ? (backend.typedArrayFromHeap(rows) as Int32Array) : undefined);
  return outs;
}

function cpuKernel(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as tf.KernelBackend & { readSync(id: unknown): tf.TypedArray; makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): TensorInfo };
  const { x, g, m, v, rows } = args.inputs as Record<string, TensorInfo>;
  const read = (t: TensorInfo) => backend.readSync(t.dataId) as Float32Array;
  const size = read(x).length;
  const out: [Float32Array, Float32Array, Float32Array] = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
  adamStep(read(x), read(g), read(m), read(v), out, args.attrs as unknown as AdamAttrs, rows ? (backend.readSync(rows.dataId) as Int32Array) : undefined);
  return out.map((values, i) => backend.makeTensorInfo([x, m, v][i].shape, "float32", values));
}

/**
 * Lazy step straight on the wasm heap when no other tensor shares the weights' or moments' memory (refCount 1):
 * only the touched rows are read and written. Returns false (nothing done) where that cannot be done safely.
 */
function updateInPlace(x: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamAttrs, rows: Int32Array): boolean {
  if (tf.getBackend() !== "wasm") return false;
  const backend = tf.backend() as unknown as BackendWasm & { dataIdMap: { get(id: unknown): { refCount: number } | undefined } };
  if (![x, m, v].every((t) => backend.dataIdMap.get(t.dataId)?.refCount === 1)) return false;
  const view = (t: tf.Tensor) => backend.typedArrayFromHeap(t) as Float32Array;
  const [xs, ms, vs] = [view(x), view(m), view(v)];
  adamStep(xs, view(g), ms, vs, [xs, ms, vs], { ...attrs, rowSize: x.size / x.shape[0] }, rows);
  return true;
}

/** Registers the fused Adam kernel for wasm and cpu (idempotent). */
export function registerFusedAdam(): void {
  for (const [backendName, kernelFunc] of [["wasm", wasmKernel], ["cpu", cpuKernel]] as const) {
    if (!tf.getKernel(FUSED_ADAM_KERNEL, backendName)) tf.registerKernel({ kernelName: FUSED_ADAM_KERNEL, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

/** Whether the current backend can run the fused kernel. */
export function fusedAdamAvailable(): boolean {
  registerFusedAdam();
  return Boolean(tf.getKernel(FUSED_ADAM_KERNEL, tf.getBackend()));
}

/**
 * Where a lazy step gets the rows a batch touched: called with a variable's name and its row count, returns
 * the distinct row indices the current batch used, or null to update the variable densely.
 */
export interface TouchedRows {
  rows(variableName: string, rowCount: number): Int32Array | null;
  /** Called after each step, so the next batch starts a new record. */
  reset(): void;
}

/**
 * tf.train.adam with each variable's update fused into one kernel. Same class name, config, moments and
 * weights as tfjs's Adam, so model.compile / save / getWeights treat it the same. With `lazy`, variables
 * for which `lazy` returns rows update only those rows (moments included): TensorFlow's LazyAdam semantics.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(
    learningRate: number,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon: number | null = null,
    private readonly lazy: TouchedRows | null = null,
  ) {
    super(learningRate, beta1, beta2, epsilon ?? undefined);
    registerFusedAdam();
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>): void {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const self = this as unknown as { accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable }>; accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable }>; iterations_: number; accBeta1: tf.Variable; accBeta2: tf.Variable };
    const t = this.iterations + 1;
    const attrs = { lr: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, correction1: 1 - this.beta1 ** t, correction2: 1 - this.beta2 ** t };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i].variable;
        const v = self.accumulatedSecondMoment[i].variable;
        const touched = this.lazy && value.rank >= 1 ? this.lazy.rows(name, value.shape[0]) : null;
        if (touched && gradient.dtype === "float32" && updateInPlace(value, gradient, m, v, attrs, touched)) return;
        const inputs: tf.NamedTensorMap = { x: value, g: gradient.dtype === "float32" ? gradient : gradient.toFloat(), m, v };
        const kernelAttrs: Record<string, number> = { ...attrs };
        if (touched) {
          inputs.rows = tf.tensor1d(touched, "int32");
          kernelAttrs.rowSize = value.size / value.shape[0];
        }
        const [x2, m2, v2] = tf.engine().runKernel(FUSED_ADAM_KERNEL, inputs, kernelAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(x2);
      });
      self.accBeta1.assign(tf.scalar(this.beta1 ** (t + 1) / this.beta1));
      self.accBeta2.assign(tf.scalar(this.beta2 ** (t + 1) / this.beta2));
    });
    this.lazy?.reset();
    this.incrementIterations();
  }
}

/**
 * Lazy rows for Embedding weights (variables whose name contains "embeddings"), from the rows the wasm
 * UnsortedSegmentSum kernel saw this step; other variables, and other backends, update densely.
 */
export function embeddingRows(): TouchedRows {
  touchedRows.record(true);
  return { rows: (name, rowCount) => (/embeddings/.test(name) ? touchedRows.take(rowCount) : null), reset: () => touchedRows.reset() };
}

/**
 * Adam for training. `lazy: true` on wasm: the fused kernel, and Embedding rows that a batch did not use keep their
 * weights and moments (TensorFlow's LazyAdam); otherwise tf.train.adam.
 */
export function createAdam(learningRate: number, options: { lazy?: boolean } = {}): tf.AdamOptimizer {
  // Dense steps stay with tfjs's own Adam: its SIMD ops beat one JS pass over a full matrix.
  if (!options.lazy || tf.getBackend() !== "wasm" || !fusedAdamAvailable()) return tf.train.adam(learningRate);
  return new FusedAdamOptimizer(learningRate, 0.9, 0.999, null, embeddingRows());
}
