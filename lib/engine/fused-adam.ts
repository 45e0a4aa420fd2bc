/**
 * Adam in one pass per variable: on wasm the weights and both moments are updated in place on the heap by a SIMD
 * loop (wasm-simd.ts), in place of the dozen full-size tensor ops (and allocations) tf.train.adam runs per variable;
 * a registered kernel (wasm and cpu) does the same with fresh outputs where memory is shared. Same rule, state and
 * config as tf.train.adam, and its float32 operations but for two divisions done as multiplications (adamStep).
 * Inside model.fit it also adds FastL2 penalties' gradients itself (see FusedAdamOptimizer.minimize); optionally
 * "lazy" on embeddings.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { rewrittenInPlace, touchedRows } from "./wasm-kernels";
import {
  backendSimd,
  wasmMemoryOf,
  TINY_MOMENT,
  TINY_SQUARED_GRADIENT,
  TINY_WEIGHT,
} from "./wasm-simd";
import { SPLIT_MIN, simdHelperFor, type AdamConstants } from "./simd-helper";
import { SUM_CHUNK, sumSquaresCache, withFoldedL2 } from "./fused-l2";
import { deferStep, finishStepWriting } from "./deferred-step";
import { engineSwitch } from "../config";

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
  /** An L2 penalty's gradient scale folded into this step: the gradient used is g + x * l2 (l2 = 2 * rate). */
  l2?: number;
}

/**
 * One Adam step element by element, with tf.train.adam's float32 operations in its order:
 * m' = m b1 + g (1-b1); v' = v b2 + g² (1-b2); x' = ((m' r1) / (sqrt(v' r2) + eps)) (-lr) + x, where r1 and r2 are
 * the float32 reciprocals of oc1 = 1 - b1^t and oc2 = 1 - b2^t as tfjs tracks them (tf.train.adam divides by oc1 and
 * oc2: the results differ in the last bit or two, and the step does one division per value instead of three), and
 * values too small to matter flushed to zero as the SIMD module does (wasm-simd.ts, TINY_WEIGHT says why). With
 * `rows`, only those rows change (lazy Adam).
 */
export function adamStep(
  x: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  out: [Float32Array, Float32Array, Float32Array],
  a: AdamAttrs,
  rows?: Int32Array,
): void {
  const [xo, mo, vo] = out;
  const f = Math.fround;
  const b1 = f(a.beta1);
  const b2 = f(a.beta2);
  const c1 = f(1 - a.beta1);
  const c2 = f(1 - a.beta2);
  const r1 = f(1 / a.correction1);
  const r2 = f(1 / a.correction2);
  const eps = f(a.epsilon);
  const negLr = f(-a.lr);
  const l2 = f(a.l2 ?? 0);
  const flush = (value: number, tiny: number) => (Math.abs(value) < tiny ? 0 : value);
  const update = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const gi = l2 ? f(g[i] + f(x[i] * l2)) : g[i];
      const mi = flush(f(f(m[i] * b1) + f(gi * c1)), TINY_MOMENT);
      const gs = flush(gi, TINY_SQUARED_GRADIENT);
      const vi = flush(f(f(v[i] * b2) + f(f(gs * gs) * c2)), TINY_MOMENT);
      mo[i] = mi;
      vo[i] = vi;
      xo[i] = flush(
        f(f(f(f(mi * r1) / f(f(Math.sqrt(f(vi * r2))) + eps)) * negLr) + x[i]),
        TINY_WEIGHT,
      );
    }
  };
  if (!rows) {
    update(0, x.length);
    return;
  }
  if (xo !== x) xo.set(x);
  if (mo !== m) mo.set(m);
  if (vo !== v) vo.set(v);
  const size = a.rowSize!;
  for (let k = 0; k < rows.length; k++) update(rows[k] * size, (rows[k] + 1) * size);
}

/**
 * A dense step in place on views of `backend`'s heap: the SIMD module for whole groups of 4 (a large weight split
 * with the helper thread where there is one), adamStep for the rest. Returns what completes it: waits for the helper's
 * part, if any, and with a folded L2 gradient gives the new weights' sum of squares (computed in the same pass, as
 * sumSquares would), else null. `running` says whether the helper still has part of the step.
 */
function adamInPlace(
  backend: BackendWasm,
  x: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: AdamAttrs,
): { running: boolean; complete(): number | null } {
  const kernels = backendSimd(backend);
  const memory = kernels && wasmMemoryOf(backend);
  const helper = memory ? simdHelperFor(memory) : null;
  const n = x.length;
  const bulk = kernels ? n - (n % 4) : 0;
  let sum: number | null = a.l2 ? 0 : null;
  // A large weight: the helper thread takes the chunks from `split` on while this one does the rest.
  const split =
    helper && bulk >= SPLIT_MIN && helper.fits(bulk, SUM_CHUNK)
      ? Math.floor((bulk * (1 - helper.share)) / SUM_CHUNK) * SUM_CHUNK
      : bulk;
  if (bulk) {
    const f = Math.fround;
    const at = (t: Float32Array, i: number) => t.byteOffset + 4 * i;
    const constants: AdamConstants = [
      a.beta1,
      a.beta2,
      f(1 - a.beta1),
      f(1 - a.beta2),
      f(1 / a.correction1),
      f(1 / a.correction2),
      a.epsilon,
      -a.lr,
    ];
    if (split < bulk)
      helper!.start(
        at(x, split),
        at(g, split),
        at(m, split),
        at(v, split),
        bulk - split,
        SUM_CHUNK,
        constants,
        a.l2,
      );
    if (a.l2)
      for (let i = 0; i < split; i += SUM_CHUNK)
        sum! += kernels!.adamL2(
          at(x, i),
          at(g, i),
          at(m, i),
          at(v, i),
          Math.min(SUM_CHUNK, split - i),
          ...constants,
          a.l2,
        );
    else if (split)
      kernels!.adam(x.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, split, ...constants);
  }
  if (bulk < n)
    adamStep(
      x.subarray(bulk),
      g.subarray(bulk),
      m.subarray(bulk),
      v.subarray(bulk),
      [x.subarray(bulk), m.subarray(bulk), v.subarray(bulk)],
      a,
    );
  // The helper's chunks come after this thread's and before the tail's, in the sum as in the memory.
  const complete = () => {
    if (split < bulk) {
      const sums = helper!.finish(Math.ceil((bulk - split) / SUM_CHUNK));
      if (sum !== null) for (const s of sums) sum += s;
    }
    if (sum !== null) for (let i = bulk; i < n; i++) sum += x[i] * x[i];
    return sum;
  };
  return { running: split < bulk, complete };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

type WasmBackend = BackendWasm & {
  wasm: {
    tfjs: {
      disposeData(id: number): void;
      registerTensor(id: number, size: number, memoryOffset: number): void;
    };
  };
  dataIdMap: {
    get(id: unknown): { id: number; memoryOffset: number; refCount: number } | undefined;
  };
};

/**
 * Tells the backend's C++ side that a tensor's memory changed: its kernels (XNNPACK matMul, conv) cache work derived
 * from a tensor (packed weights) by tensor id until the tensor is disposed, so the id is disposed and registered again
 * at the same memory. Without this, a Dense layer would keep multiplying by its old weights.
 */
function markChanged(backend: WasmBackend, t: tf.Tensor): void {
  const data = backend.dataIdMap.get(t.dataId)!;
  backend.wasm.tfjs.disposeData(data.id);
  backend.wasm.tfjs.registerTensor(data.id, t.size, data.memoryOffset);
  rewrittenInPlace.add(t.dataId as object);
}

function wasmKernel(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, g, m, v, rows } = args.inputs as Record<string, TensorInfo>;
  const outs = [x, m, v].map((t) => backend.makeOutput(t.shape, "float32"));
  // Views only after every allocation: makeOutput can grow (and so move) the heap.
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const [xo, mo, vo] = outs.map(view);
  const attrs = args.attrs as unknown as AdamAttrs;
  if (rows)
    adamStep(
      view(x),
      view(g),
      view(m),
      view(v),
      [xo, mo, vo],
      attrs,
      backend.typedArrayFromHeap(rows) as Int32Array,
    );
  else {
    xo.set(view(x));
    mo.set(view(m));
    vo.set(view(v));
    adamInPlace(backend, xo, view(g), mo, vo, attrs).complete();
  }
  return outs;
}

function cpuKernel(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as tf.KernelBackend & {
    readSync(id: unknown): tf.TypedArray;
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): TensorInfo;
  };
  const { x, g, m, v, rows } = args.inputs as Record<string, TensorInfo>;
  const read = (t: TensorInfo) => backend.readSync(t.dataId) as Float32Array;
  const size = read(x).length;
  const out: [Float32Array, Float32Array, Float32Array] = [
    new Float32Array(size),
    new Float32Array(size),
    new Float32Array(size),
  ];
  adamStep(
    read(x),
    read(g),
    read(m),
    read(v),
    out,
    args.attrs as unknown as AdamAttrs,
    rows ? (backend.readSync(rows.dataId) as Int32Array) : undefined,
  );
  return out.map((values, i) => backend.makeTensorInfo([x, m, v][i].shape, "float32", values));
}

/**
 * A step straight on the wasm heap when no other tensor shares the weights' or moments' memory (refCount 1; a
 * clone from getWeights() shares it, for instance): the SIMD pass over every element, or with `rows` only those rows.
 * Returns false (nothing done) where that cannot be done safely; the caller then runs the allocating kernel.
 */
function updateInPlace(
  x: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  attrs: AdamAttrs,
  rows: Int32Array | null,
): boolean {
  if (tf.getBackend() !== "wasm" || g.dtype !== "float32") return false;
  const backend = tf.backend() as unknown as WasmBackend;
  finishStepWriting(x.dataId, g.dataId, m.dataId, v.dataId);
  if (![x, m, v].every((t) => backend.dataIdMap.get(t.dataId)?.refCount === 1)) return false;
  const view = (t: tf.Tensor) => backend.typedArrayFromHeap(t) as Float32Array;
  const [xs, ms, vs] = [view(x), view(m), view(v)];
  sumSquaresCache.delete(x.dataId as object);
  if (rows)
    adamStep(xs, view(g), ms, vs, [xs, ms, vs], { ...attrs, rowSize: x.size / x.shape[0] }, rows);
  else {
    const step = adamInPlace(backend, xs, view(g), ms, vs, attrs);
    const file = (sum: number | null) =>
      sum !== null && sumSquaresCache.set(x.dataId as object, sum);
    // A step with a folded L2 is split but never deferred: deferred, a run of the lesson's models
    // did not repeat (cause not found; docs/performance-engine.md).
    const deferred = step.running && !attrs.l2 && engineSwitch("LESSON4_DEFER_STEP");
    if (!deferred) file(step.complete());
    else {
      // The helper finishes while training goes on (until something touches x, m or v); the gradient it reads stays alive until then.
      const gradient = tf.keep(g.clone());
      deferStep(backend, {
        writes: [x.dataId, m.dataId, v.dataId],
        finish: () => {
          try {
            file(step.complete());
          } finally {
            gradient.dispose();
          }
        },
      });
    }
  }
  for (const t of [x, m, v]) markChanged(backend, t);
  return true;
}

/** Registers the fused Adam kernel for wasm and cpu (idempotent). */
export function registerFusedAdam(): void {
  for (const [backendName, kernelFunc] of [
    ["wasm", wasmKernel],
    ["cpu", cpuKernel],
  ] as const) {
    if (!tf.getKernel(FUSED_ADAM_KERNEL, backendName))
      tf.registerKernel({
        kernelName: FUSED_ADAM_KERNEL,
        backendName,
        kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      });
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
 * tf.train.adam with each variable's update fused into one pass (in place on the wasm heap where no other tensor
 * shares the memory). Same class name, config, moments and weights as tfjs's Adam, so model.compile / save /
 * getWeights treat it the same. With `lazy`, variables
 * for which `lazy` returns rows update only those rows (moments included): TensorFlow's LazyAdam semantics.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(
    learningRate: number,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon: number | null = null,
    readonly lazy: TouchedRows | null = null,
    /** Fold FastL2 penalties' gradients into the step (see minimize). */
    readonly foldL2 = false,
  ) {
    super(learningRate, beta1, beta2, epsilon ?? undefined);
    registerFusedAdam();
  }

  private pendingL2: Map<string, number> | null = null;

  /**
   * With foldL2: FastL2 penalties computed by `f` (Keras regularizer losses, which model.fit adds to the loss with
   * weight 1) leave their gradient 2 * rate * w off the tape, and the step adds it to w's gradient in the same pass:
   * same values as the tape's multiply and add, without two full-size tensors per matrix per batch.
   */
  override minimize(
    f: () => tf.Scalar,
    returnCost = false,
    varList?: tf.Variable[],
  ): tf.Scalar | null {
    if (!this.foldL2) return super.minimize(f, returnCost, varList);
    const sink = new Map<string, number>();
    this.pendingL2 = sink;
    try {
      return withFoldedL2(sink, () => super.minimize(f, returnCost, varList));
    } finally {
      this.pendingL2 = null;
    }
  }

  /**
   * applyGradients with FastL2 gradients folded in, l2 (2 * rate) by variable name, as minimize folds them: for steps
   * that compute their loss and gradients themselves (lessons/embedding-step.ts).
   */
  applyGradientsFoldingL2(variableGradients: tf.NamedTensorMap, l2: Map<string, number>): void {
    this.pendingL2 = l2;
    try {
      this.applyGradients(variableGradients);
    } finally {
      this.pendingL2 = null;
    }
  }

  override applyGradients(
    variableGradients: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>,
  ): void {
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const folded = this.pendingL2;
    // A folded penalty on a variable the loss does not otherwise reach: its only gradient is the penalty's.
    if (folded) for (const name of folded.keys()) if (!names.includes(name)) names.push(name);
    const gradientOf = (name: string, i: number): tf.Tensor | undefined =>
      Array.isArray(variableGradients)
        ? variableGradients[i]?.tensor
        : (variableGradients as tf.NamedTensorMap)[name];
    const self = this as unknown as {
      accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable }>;
      accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable }>;
      iterations_: number;
      accBeta1: tf.Variable;
      accBeta2: tf.Variable;
    };
    // The bias corrections from tfjs's own float32 accumulators, as tf.train.adam reads them.
    const acc1 = self.accBeta1.dataSync()[0];
    const acc2 = self.accBeta2.dataSync()[0];
    const attrs: AdamAttrs = {
      lr: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      correction1: Math.fround(1 - acc1),
      correction2: Math.fround(1 - acc2),
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        self.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        self.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const l2 = folded?.get(name);
        const gradient = gradientOf(name, i) ?? (l2 ? tf.zerosLike(value) : undefined);
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i].variable;
        const v = self.accumulatedSecondMoment[i].variable;
        const touched = this.lazy && value.rank >= 1 ? this.lazy.rows(name, value.shape[0]) : null;
        const step = l2 ? { ...attrs, l2 } : attrs;
        if (updateInPlace(value, gradient, m, v, step, touched)) return;
        const inputs: tf.NamedTensorMap = {
          x: value,
          g: gradient.dtype === "float32" ? gradient : gradient.toFloat(),
          m,
          v,
        };
        const kernelAttrs: Record<string, number> = { ...step };
        if (touched) {
          inputs.rows = tf.tensor1d(touched, "int32");
          kernelAttrs.rowSize = value.size / value.shape[0];
        }
        const [x2, m2, v2] = tf
          .engine()
          .runKernel(
            FUSED_ADAM_KERNEL,
            inputs,
            kernelAttrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(x2);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, this.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, this.beta2));
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
  return {
    rows: (name, rowCount) => (/embeddings/.test(name) ? touchedRows.take(rowCount) : null),
    reset: () => touchedRows.reset(),
  };
}

/**
 * Adam for training: on wasm, tf.train.adam's rule as one in-place SIMD pass per variable (same values within
 * float32 rounding, same state, config and class name; a plain JS pass where SIMD is missing); `lazy: true` also
 * leaves the Embedding rows a batch did not use untouched, weights and moments (TensorFlow's LazyAdam: faster,
 * different results). Other backends, or LESSON4_FUSED_ADAM=0 (lib/config.ts, to compare): tf.train.adam itself.
 * The fused optimizer also folds FastL2 penalties' gradients into its step (see FusedAdamOptimizer.minimize): for
 * losses that add the penalty with weight 1, as model.fit does.
 */
export function createAdam(
  learningRate: number,
  options: { lazy?: boolean } = {},
): tf.AdamOptimizer {
  const fused = engineSwitch("LESSON4_FUSED_ADAM");
  if (!fused || tf.getBackend() !== "wasm" || !fusedAdamAvailable())
    return tf.train.adam(learningRate);
  return new FusedAdamOptimizer(
    learningRate,
    0.9,
    0.999,
    null,
    options.lazy ? embeddingRows() : null,
    true,
  );
}
