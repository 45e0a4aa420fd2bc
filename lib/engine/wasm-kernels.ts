/**
 * Kernels the tfjs wasm backend does not have, registered so training works on it:
 * UnsortedSegmentSum (the gradient of an Embedding lookup) in plain JS on the wasm heap,
 * and every other missing kernel the lessons use run by the cpu backend's own code.
 */
import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  backendSimd,
  type MatMulArgs,
  type SimdKernels,
  wasmMemoryOf,
  zeroHeap,
} from "./wasm-simd";
import { simdHelperFor } from "./simd-helper";
import { IMAGE_KERNELS } from "./wasm-image-kernels";
import { registerShiftedTransform } from "./lessons/channel-shift";
import { registerFusedBatchNorm } from "./fused-batchnorm";
import { registerPatchRows } from "./conv-filter-gradient";
import { registerCol2Im } from "./conv-input-gradient";
import { registerReluGrad } from "./relu-grad";
import { registerDropoutMask } from "./dropout";
import { TRAINING_KERNELS } from "./wasm-training-kernels";
import { quietCpuBackend, shareData } from "./tfjs-patches";
import { engineSwitch } from "../config";

type TensorInfo = tf.TensorInfo;

/** Kernels the lessons need whose wasm versions are missing; run through the cpu bridge. */
export const BRIDGED_KERNELS = [
  "Conv2DBackpropFilter",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
] as const;

/**
 * out[segmentIds[i], ...] += x[i, ...]: the gradient of a gather along axis 0, written
 * straight into the wasm heap (one pass, no temporary tensors).
 */
function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x as TensorInfo;
  const segmentIds = args.inputs.segmentIds as TensorInfo;
  const numSegments = Number(args.attrs!.numSegments);
  const rowSize = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const outValues = backend.typedArrayFromHeap(out);
  zeroHeap(backendSimd(backend), outValues as Float32Array);
  const values = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  if (recording) {
    const list = touched.get(numSegments) ?? [];
    list.push(Int32Array.from(ids));
    touched.set(numSegments, list);
  }
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue; // TensorFlow drops out-of-range ids too
    const from = i * rowSize;
    const to = segment * rowSize;
    for (let j = 0; j < rowSize; j++) outValues[to + j] += values[from + j];
  }
  return out;
}

let recording = false;
const touched = new Map<number, Int32Array[]>();

/**
 * Weights (dataIds) the fused Adam rewrote in place since their last plain matrix product; see simdBatchMatMul.
 * Up to FRESH_WEIGHT_ROWS rows of A, the SIMD loop beats XNNPACK's packing of a new B plus its product (a small
 * CNN's filter gradient, 288 x 7488 · 7488 x 64: 17.5 ms per call instead of 28 in a profiled epoch).
 */
export const rewrittenInPlace = new WeakSet<object>();
/** The right operands (dataIds) of plain products so far: XNNPACK has packed those it was given. */
const seenAsRight = new WeakSet<object>();
const FRESH_WEIGHT_ROWS = 512;

/**
 * Embedding row tracking for lazy optimizers: while on, every UnsortedSegmentSum (an Embedding's gradient)
 * notes which of its `numSegments` rows received a gradient.
 */
export const touchedRows = {
  /** Starts (or stops) noting rows; stopping forgets what was noted. */
  record(on: boolean): void {
    recording = on;
    touched.clear();
  },
  /** Distinct rows, ascending, that gradients reached since the last reset, for a matrix of `rowCount` rows; null when none was noted. */
  take(rowCount: number): Int32Array | null {
    const lists = touched.get(rowCount);
    if (!lists) return null;
    const seen = new Uint8Array(rowCount);
    for (const ids of lists)
      for (let i = 0; i < ids.length; i++) if (ids[i] >= 0 && ids[i] < rowCount) seen[ids[i]] = 1;
    let n = 0;
    for (let i = 0; i < rowCount; i++) n += seen[i];
    const rows = new Int32Array(n);
    for (let i = 0, k = 0; i < rowCount; i++) if (seen[i]) rows[k++] = i;
    return rows;
  },
  reset(): void {
    touched.clear();
  },
};

let cpuBackend: MathBackendCPU | null = null;
function sharedCpuBackend(): MathBackendCPU {
  if (!cpuBackend) {
    cpuBackend = quietCpuBackend();
  }
  return cpuBackend;
}

/** Runs the cpu backend's kernel on copies of the inputs and writes its result into wasm memory. */
function bridgeToCpu(kernelName: string): tf.KernelFunc {
  const cpuKernel = tf.getKernel(kernelName, "cpu");
  if (!cpuKernel) throw new Error(`The cpu backend has no ${kernelName} kernel to bridge to wasm.`);
  return (args) => {
    const wasm = args.backend as unknown as BackendWasm;
    const cpu = sharedCpuBackend();
    const cpuInputs: tf.NamedTensorInfoMap = {};
    const toDispose: TensorInfo[] = [];
    for (const [name, info] of Object.entries(args.inputs)) {
      if (!info) continue;
      const copy = cpu.makeTensorInfo(
        info.shape,
        info.dtype,
        wasm.readSync(info.dataId) as tf.backend_util.BackendValues,
      );
      cpuInputs[name] = copy;
      toDispose.push(copy);
    }
    try {
      const result = cpuKernel.kernelFunc({ inputs: cpuInputs, backend: cpu, attrs: args.attrs });
      const results = Array.isArray(result) ? result : [result];
      const outputs = results.map((info) => {
        const out = wasm.makeOutput(info.shape, info.dtype);
        wasm.typedArrayFromHeap(out).set(cpu.readSync(info.dataId) as tf.TypedArray);
        toDispose.push(info);
        return out;
      });
      return Array.isArray(result) ? outputs : outputs[0];
    } finally {
      for (const info of toDispose) cpu.disposeData(info.dataId, true);
    }
  };
}

/**
 * GatherV2 (Embedding lookups, and fit's batch slicing) on the wasm heap in JS: the backend's own kernel costs as
 * much as the rest of a small model's forward pass for a batch's rows of an Embedding. Same output and the same
 * out-of-range error; 4-byte dtypes with batchDims 0 only, anything else goes to the backend's kernel.
 */
function fastGather(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm;
    const x = args.inputs.x as TensorInfo;
    const indices = args.inputs.indices as TensorInfo;
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    if (
      batchDims !== 0 ||
      (x.dtype !== "float32" && x.dtype !== "int32") ||
      indices.dtype !== "int32"
    )
      return original(args);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
      x as tf.Tensor,
      indices as tf.Tensor,
      ax,
      0,
    );
    const checked = backend.typedArrayFromHeap(indices) as Int32Array;
    const dim = info.dimSize;
    for (let i = 0; i < checked.length; i++) {
      if (!(checked[i] >= 0 && checked[i] <= dim - 1))
        throw new Error(`GatherV2: the index value ${checked[i]} is not in [0, ${dim - 1}]`);
    }
    const out = backend.makeOutput(info.outputShape, x.dtype);
    if (!tf.util.sizeFromShape(x.shape)) return out;
    // Every view after makeOutput, which can grow the heap: a view taken before is then detached (length 0), and the
    // gather would leave its output unwritten.
    const ids = backend.typedArrayFromHeap(indices) as Int32Array;
    const from = backend.typedArrayFromHeap(x);
    const to = backend.typedArrayFromHeap(out);
    const slice = info.sliceSize;
    const n = ids.length;
    for (let o = 0, k = 0; o < info.outerSize; o++) {
      const base = o * dim * slice;
      for (let i = 0; i < n; i++, k += slice) {
        const src = base + ids[i] * slice;
        if (slice === 1) to[k] = from[src];
        else to.set(from.subarray(src, src + slice), k);
      }
    }
    return out;
  };
}

/** Transpose whose permutation moves no dimension of size > 1 shares the input's memory (as Reshape does) instead of copying it. */
function sharingTranspose(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    const moved = perm.filter((p) => x.shape[p] !== 1);
    if (moved.some((p, i) => i > 0 && p < moved[i - 1])) return original(args);
    return shareData(
      args.backend,
      x,
      perm.map((p) => x.shape[p]),
    );
  };
}

/**
 * Identity (tf.clone, and every tensor the gradient tape saves for backprop) shares the input's memory, as the cpu
 * and webgl backends do, instead of copying it: the tape clones each Embedding matrix every batch. Tensors are
 * immutable, and the in-place Adam step only writes memory no other tensor shares (refCount 1).
 */
function sharingIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === "string") return original(args);
    return shareData(args.backend, x, x.shape);
  };
}

/**
 * BatchMatMul with a transposed operand or a batch (every backward pass of a Dense layer): the backend's own kernel
 * runs those through a scalar triple loop; this one uses the SIMD module, 16 output columns at a time (a transposed
 * B is copied once), for operands of up to 512 KiB together and for weight gradients. The plain batch-1 product stays
 * with the backend's kernel (XNNPACK) unless its weight was just rewritten in place (see below); larger transposed
 * ones are untransposed for it.
 */
const SMALL_MATMUL_BYTES = 512 * 1024;
/** The largest batch (k of x^T·dy) for which a weight gradient of any size stays in the SIMD loop. */
const WEIGHT_GRADIENT_BATCH = 256;

function simdBatchMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm & { disposeData(id: unknown): boolean };
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    const kernels = backendSimd(backend);
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = tf.util.sizeFromShape(outerA);
    const batchB = tf.util.sizeFromShape(outerB);
    const sameBatch = batchA === batchB && tf.util.arraysEqual(outerA, outerB);
    if (
      !kernels ||
      a.dtype !== "float32" ||
      b.dtype !== "float32" ||
      a.shape.length < 2 ||
      b.shape.length < 2
    )
      return original(args);
    if (!(sameBatch || batchA === 1 || batchB === 1)) return original(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const plain = !transposeA && !transposeB && Math.max(batchA, batchB) === 1;
    // The plain product goes to XNNPACK, which caches its packing of B by tensor; but a B it has not packed yet, or
    // a weight the fused Adam has just rewritten, must be packed first, which for a few rows costs far more than
    // the product itself (a feature head's training forward, a convolution's filter gradient, whose B is a fresh
    // dy; docs/performance-engine.md). So for a few rows times such a B, the SIMD loop; once the same B comes back
    // unchanged (predicting after training), XNNPACK.
    if (plain) {
      const id = b.dataId as object;
      const rewritten = rewrittenInPlace.delete(id);
      const firstUse = !seenAsRight.has(id);
      seenAsRight.add(id);
      if (!(a.shape[ra - 2] <= FRESH_WEIGHT_ROWS && (rewritten || firstUse))) return original(args);
    }
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (k !== kb) return original(args); // the backend's kernel reports the mismatch
    // Products with a transposed operand or a batch: in the loop while both operands stay in cache (Dense layers
    // of small models), and a Dense layer's weight gradient x^T·dy (k, the batch, small) at any size, since the
    // loop reads x transposed where it is and keeps each 16-column block of dy in cache; larger ones go to XNNPACK.
    const weightGradient = transposeA && !transposeB && k <= WEIGHT_GRADIENT_BATCH;
    if (!plain && !weightGradient && (m * k + k * n) * 4 > SMALL_MATMUL_BYTES)
      return Math.max(batchA, batchB) === 1 ? untransposedMatMul(original, args) : original(args);
    const batch = Math.max(batchA, batchB);
    const out = backend.makeOutput([...(batchA >= batchB ? outerA : outerB), m, n], "float32");
    const bt = transposeB ? backend.makeOutput([batchB, k, n], "float32") : null;
    // Views only after every allocation (the heap can move).
    const av = backend.typedArrayFromHeap(a) as Float32Array;
    let bv = backend.typedArrayFromHeap(b) as Float32Array;
    if (bt) {
      const t = backend.typedArrayFromHeap(bt) as Float32Array;
      for (let q = 0; q < batchB; q++)
        for (let j = 0; j < n; j++)
          for (let p = 0; p < k; p++) t[q * k * n + p * n + j] = bv[q * n * k + j * k + p];
      bv = t;
    }
    const cv = backend.typedArrayFromHeap(out) as Float32Array;
    const [saI, saK] = transposeA ? [1, m] : [k, 1];
    for (let q = 0; q < batch; q++) {
      const ao = (batchA === 1 ? 0 : q) * m * k;
      const bo = (batchB === 1 ? 0 : q) * k * n;
      const co = q * m * n;
      // All n columns in the module when its 4-wide read of the last ones stays inside the heap; else the rest here.
      const cols = bv.byteOffset + 4 * (bo + k * n + 3) <= bv.buffer.byteLength ? n : n - (n % 4);
      if (cols)
        matMulRows(backend, kernels, [
          av.byteOffset + 4 * ao,
          bv.byteOffset + 4 * bo,
          cv.byteOffset + 4 * co,
          m,
          k,
          cols,
          n,
          saI,
          saK,
        ]);
      for (let i = 0; i < m; i++)
        for (let j = cols; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++)
            sum = Math.fround(sum + Math.fround(av[ao + i * saI + p * saK] * bv[bo + p * n + j]));
          cv[co + i * n + j] = sum;
        }
    }
    if (bt) backend.disposeData(bt.dataId);
    return out;
  };
}

/** Products of at least this many multiply-adds share their rows with the helper thread (waking it takes ~0.1 ms). */
const SPLIT_MULTIPLY_ADDS = 1 << 21;

/**
 * The SIMD module's matMul; a large product on the threaded backend computes its last rows on the helper thread
 * meanwhile (a feature head's forward and weight gradient). Every output is the same sum in the same order on
 * either thread.
 */
function matMulRows(backend: BackendWasm, kernels: SimdKernels, args: MatMulArgs): void {
  const [a, b, c, m, k, cols, n, saI, saK] = args;
  const memory = m >= 4 && m * k * cols >= SPLIT_MULTIPLY_ADDS ? wasmMemoryOf(backend) : null;
  const helper = memory ? simdHelperFor(memory) : null;
  if (!helper) {
    kernels.matMul(...args);
    return;
  }
  const half = (m >> 1) & ~1; // an even number of rows here, so the module's row pairs stay whole
  helper.startMatMul([a + 4 * half * saI, b, c + 4 * half * n, m - half, k, cols, n, saI, saK]);
  kernels.matMul(a, b, c, half, k, cols, n, saI, saK);
  helper.finishMatMul();
}

/**
 * A large unbatched product with a transposed operand (a big Dense layer's backward pass: x^T·dy and dy·W^T) without
 * the backend's transposed path, a scalar loop ~15x slower than its plain product (XNNPACK). Either C = A'·B' with the
 * transposed operand copied out, or C = (B'^T·A'^T)^T, whichever moves fewer values: XNNPACK repacks its right operand
 * on every call (a fresh tensor each time), so that one should be the smaller.
 */
function untransposedMatMul(
  original: tf.KernelFunc,
  args: Parameters<tf.KernelFunc>[0],
): TensorInfo {
  const backend = args.backend as unknown as BackendWasm & { disposeData(id: unknown): boolean };
  const transposeKernel = (replaced.get("Transpose") ?? tf.getKernel("Transpose", "wasm"))!
    .kernelFunc;
  const a = args.inputs.a as TensorInfo;
  const b = args.inputs.b as TensorInfo;
  const { transposeA, transposeB } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  const [ra, rb] = [a.shape.length, b.shape.length];
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const PACKING = 2; // XNNPACK's repacking of its right operand, per value, relative to a copy
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACKING * k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + PACKING * k * m + m * n;
  const temporaries: TensorInfo[] = [];
  const scratch = (t: TensorInfo): TensorInfo => (temporaries.push(t), t); // freed at the end
  // x with its last two axes swapped (a copy)
  const swapLast = (x: TensorInfo): TensorInfo => {
    const r = x.shape.length;
    const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
    return transposeKernel({ inputs: { x }, backend: args.backend, attrs: { perm } }) as TensorInfo;
  };
  const product = (left: TensorInfo, right: TensorInfo) =>
    original({
      inputs: { a: left, b: right },
      backend: args.backend,
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    }) as TensorInfo;
  try {
    if (direct <= swapped)
      return product(transposeA ? scratch(swapLast(a)) : a, transposeB ? scratch(swapLast(b)) : b);
    // op(B)^T is B itself when B is transposed, else B copied out; likewise op(A)^T
    return swapLast(
      scratch(
        product(transposeB ? b : scratch(swapLast(b)), transposeA ? a : scratch(swapLast(a))),
      ),
    );
  } finally {
    for (const t of temporaries) backend.disposeData(t.dataId);
  }
}

/** The backend's own kernel configs of the kernels replaced here, by name. */
const replaced = new Map<string, tf.KernelConfig>();

/**
 * Runs `fn` with the backend's own wasm kernels for `names` (which registerFasterWasmKernels replaced), then puts the
 * faster ones back: how tests compare the two on the same backend.
 */
export function withReferenceKernels<T>(names: string[], fn: () => T): T {
  const swapped = names
    .filter((n) => replaced.has(n))
    .map((n) => [tf.getKernel(n, "wasm")!, replaced.get(n)!] as const);
  for (const [, reference] of swapped) {
    tf.unregisterKernel(reference.kernelName, "wasm");
    tf.registerKernel(reference);
  }
  try {
    return fn();
  } finally {
    for (const [fast] of swapped) {
      tf.unregisterKernel(fast.kernelName, "wasm");
      tf.registerKernel(fast);
    }
  }
}

/**
 * Replaces wasm kernels that are slow for training small models by faster ones with the same results (GatherV2;
 * BatchMatMul with transposes; Identity and Transpose that is a relabelling share memory instead of copying; Tile,
 * leading-axes Sum/Mean and MaxPoolGrad of ./wasm-training-kernels), and
 * the image kernels of ./wasm-image-kernels (Transform, FusedBatchNorm, Maximum/Minimum, Add, Min/Max, and the
 * augmenter's warp with its channel shift as one kernel), and BatchNormalization's fused training pass
 * (./fused-batchnorm; LESSON4_FUSED_BN=0 leaves it out) and the dropout mask (./dropout); returns the names of the
 * kernels it replaced.
 * Idempotent. LESSON4_FAST_IMAGE_KERNELS=0 keeps the backend's own image kernels (to compare).
 */
export function registerFasterWasmKernels(): string[] {
  const names: string[] = [];
  const wrappers: Array<[string, (original: tf.KernelFunc) => tf.KernelFunc]> = [
    ["GatherV2", fastGather],
    ["Transpose", sharingTranspose],
    ["Identity", sharingIdentity],
    ["BatchMatMul", simdBatchMatMul],
    ...TRAINING_KERNELS,
  ];
  if (engineSwitch("LESSON4_FUSED_BN")) registerFusedBatchNorm();
  registerPatchRows();
  registerCol2Im();
  registerDropoutMask();
  if (engineSwitch("LESSON4_FAST_RELU_GRAD")) registerReluGrad();
  if (engineSwitch("LESSON4_FAST_IMAGE_KERNELS")) {
    wrappers.push(...IMAGE_KERNELS);
    registerShiftedTransform();
  }
  for (const [kernelName, wrap] of wrappers) {
    const config = tf.getKernel(kernelName, "wasm");
    if (!config) continue;
    names.push(kernelName);
    if (replaced.has(kernelName)) continue;
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ ...config, kernelFunc: wrap(config.kernelFunc) });
    replaced.set(kernelName, config);
  }
  return names;
}

/** Registers the missing kernels for the wasm backend; returns the names it registered. */
export function registerMissingWasmKernels(): string[] {
  const registered: string[] = [];
  const register = (kernelName: string, kernelFunc: tf.KernelFunc) => {
    if (tf.getKernel(kernelName, "wasm")) return;
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
    registered.push(kernelName);
  };
  register("UnsortedSegmentSum", unsortedSegmentSum as unknown as tf.KernelFunc);
  for (const name of BRIDGED_KERNELS) register(name, bridgeToCpu(name));
  return registered;
}
