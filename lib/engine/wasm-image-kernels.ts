/**
 * Faster versions of the wasm kernels that image work leans on (augmentation's Transform, in image-warp.ts;
 * MobileNet's FusedBatchNorm and ReLU6's Minimum; Add, Min/Max and Maximum/Minimum against a scalar or a value per
 * image), in JS and the project's SIMD module straight on the wasm heap. The backend's own kernels index every
 * element through a generic broadcasting loop; these handle the common layouts and hand anything else to the
 * original kernel.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { fastTransform } from "./image-warp";
import { backendSimd } from "./wasm-simd";

// Kept importable from here: the Transform switch the tests flip, and the augmenter's lesson-shaped kernel.
export { transformChoice } from "./image-warp";
export { SHIFTED_TRANSFORM_KERNEL, registerShiftedTransform } from "./lessons/channel-shift";

type TensorInfo = tf.TensorInfo;
type HeapBackend = BackendWasm & { disposeData(id: unknown): boolean };

/**
 * How `small` broadcasts against `big` when each of its values covers one contiguous block of `big` (its shape is a
 * prefix of big's with the rest 1s: a scalar, or [n, 1, 1, 1] against [n, h, w, c]): the block length, else null.
 */
function blockBroadcast(big: number[], small: number[]): number | null {
  if (small.length > big.length) return null;
  const padded = [...new Array(big.length - small.length).fill(1), ...small];
  let k = 0;
  while (k < big.length && padded[k] === big[k]) k++;
  // equal leading dims, then only 1s (all 1s: a scalar, one block)
  return padded.slice(k).every((d) => d === 1) ? tf.util.sizeFromShape(big.slice(k)) : null;
}

/** The elementwise operations fastBlockwise handles: the SIMD module's loop and the same operation in JS. */
const BLOCKWISE = {
  max: { simd: "maxScalar", js: Math.max },
  min: { simd: "minScalar", js: Math.min },
  add: { simd: "addScalar", js: (a: number, b: number) => Math.fround(a + b) },
} as const;

/**
 * Maximum, Minimum or Add of a float32 tensor and a scalar (ReLU6's min(x, 6)) or per-block values (see
 * blockBroadcast: the augmenter's channel shift, one value per image, and its clipping to each image's own range), 4
 * lanes at a time; NaN propagates as in the backend's kernels. Same-shape and other broadcasts go to the backend's
 * kernel, whose generic broadcasting loop indexes every value.
 */
function fastBlockwise(original: tf.KernelFunc, op: keyof typeof BLOCKWISE): tf.KernelFunc {
  const { simd, js } = BLOCKWISE[op];
  return (args) => {
    const backend = args.backend as unknown as HeapBackend;
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    if (a.dtype !== "float32" || b.dtype !== "float32" || tf.util.arraysEqual(a.shape, b.shape))
      return original(args);
    const aBig = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape);
    // max(v, x) with v the small operand first gives v where x is NaN in the backend's kernel (std::max's order), not
    // NaN as the SIMD loop does: that order (ReLU6 and the channel clip put x first) goes to the backend's kernel
    if (!aBig && op !== "add") return original(args);
    const big = aBig ? a : b,
      small = aBig ? b : a;
    const block = blockBroadcast(big.shape, small.shape);
    if (block === null) return original(args);
    const out = backend.makeOutput(big.shape, "float32");
    const kernels = backendSimd(backend); // null: the JS loops run
    const x = backend.typedArrayFromHeap(big) as Float32Array;
    const s = backend.typedArrayFromHeap(small) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const block4 = kernels && block >= 16 ? block - (block % 4) : 0;
    for (let k = 0, i = 0; k < s.length; k++, i += block) {
      const v = s[k];
      if (block4) kernels![simd](x.byteOffset + 4 * i, dst.byteOffset + 4 * i, block4, v);
      for (let j = i + block4; j < i + block; j++) dst[j] = js(x[j], v);
    }
    return out;
  };
}

/**
 * Min/Max over trailing axes of a float32 tensor (the channel shift's per-image range: axes [1, 2, 3] of a batch),
 * each output a contiguous block, in the SIMD module's blockMin/blockMax; other axes, dtypes and blocks under 16
 * values go to the backend's kernel, whose one-value-at-a-time loop this replaces with the same values (NaN
 * anywhere gives NaN, as there; of two zeros, the sign may differ).
 */
function fastBlockReduce(original: tf.KernelFunc, isMax: boolean): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as HeapBackend;
    const x = args.inputs.x as TensorInfo;
    // Min's attribute is `axis`, Max's `reductionIndices`
    const {
      axis = undefined,
      reductionIndices = undefined,
      keepDims,
    } = args.attrs as unknown as {
      axis?: number | number[];
      reductionIndices?: number | number[];
      keepDims: boolean;
    };
    const given = axis ?? reductionIndices;
    if (given === undefined) return original(args);
    const rank = x.shape.length;
    const axes = [
      ...new Set((Array.isArray(given) ? given : [given]).map((a) => (a < 0 ? a + rank : a))),
    ].sort((a, b) => a - b);
    const trailing = axes.length > 0 && axes.every((a, i) => a === rank - axes.length + i);
    const kernels = backendSimd(backend);
    const block = tf.util.sizeFromShape(x.shape.slice(rank - axes.length));
    if (x.dtype !== "float32" || !trailing || !kernels || block < 16) return original(args);
    const lead = x.shape.slice(0, rank - axes.length);
    const out = backend.makeOutput(keepDims ? [...lead, ...axes.map(() => 1)] : lead, "float32");
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const block4 = block - (block % 4);
    for (let k = 0, i = 0; k < dst.length; k++, i += block) {
      let best = (isMax ? kernels.blockMax : kernels.blockMin)(src.byteOffset + 4 * i, block4);
      for (let j = i + block4; j < i + block; j++)
        best = isMax ? Math.max(best, src[j]) : Math.min(best, src[j]);
      dst[k] = best;
    }
    return out;
  };
}

/** Values of a batch-norm parameter per channel (length c), when it is a scalar or holds one value per channel along the last axis. */
function perChannel(
  info: TensorInfo | undefined,
  backend: BackendWasm,
  c: number,
  fallback: number,
): Float32Array | null {
  if (!info) return new Float32Array(c).fill(fallback);
  const size = tf.util.sizeFromShape(info.shape);
  if (
    info.dtype !== "float32" ||
    (size !== 1 && (size !== c || info.shape[info.shape.length - 1] !== c))
  )
    return null;
  const values = backend.typedArrayFromHeap(info) as Float32Array;
  return size === 1 ? new Float32Array(c).fill(values[0]) : Float32Array.from(values);
}

/**
 * FusedBatchNorm (tf.batchNorm; BatchNormalization layers at inference) with mean, variance, offset and scale given
 * per channel (the last axis) or as scalars: (x - mean) * (scale / sqrt(var + eps)) + offset, the factor once per channel.
 */
function fastBatchNorm(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as HeapBackend;
    const x = args.inputs.x as TensorInfo;
    if (x.dtype !== "float32" || x.shape.length < 1) return original(args);
    const c = x.shape[x.shape.length - 1];
    const eps = Number(
      (args.attrs as unknown as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001,
    );
    const mean = perChannel(args.inputs.mean as TensorInfo, backend, c, 0);
    const variance = perChannel(args.inputs.variance as TensorInfo, backend, c, 1);
    const offset = perChannel(args.inputs.offset as TensorInfo | undefined, backend, c, 0);
    const scale = perChannel(args.inputs.scale as TensorInfo | undefined, backend, c, 1);
    if (!mean || !variance || !offset || !scale || !c) return original(args);
    const mul = new Float32Array(c);
    for (let j = 0; j < c; j++) mul[j] = scale[j] / Math.sqrt(variance[j] + eps);
    const out = backend.makeOutput(x.shape, "float32");
    const kernels = c % 4 === 0 ? backendSimd(backend) : null;
    if (kernels) {
      // mean, mul and offset side by side on the heap for the SIMD loop
      const params = backend.makeOutput([3 * c], "float32");
      const p = backend.typedArrayFromHeap(params) as Float32Array;
      p.set(mean, 0);
      p.set(mul, c);
      p.set(offset, 2 * c);
      const src = backend.typedArrayFromHeap(x) as Float32Array;
      const dst = backend.typedArrayFromHeap(out) as Float32Array;
      kernels.batchNorm(src.byteOffset, dst.byteOffset, src.length, c, p.byteOffset);
      backend.disposeData(params.dataId);
      return out;
    }
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    for (let i = 0; i < src.length; i += c)
      for (let j = 0; j < c; j++) dst[i + j] = (src[i + j] - mean[j]) * mul[j] + offset[j];
    return out;
  };
}

/** The kernels above as [kernel name, wrapper of the backend's own kernel]. */
export const IMAGE_KERNELS: Array<[string, (original: tf.KernelFunc) => tf.KernelFunc]> = [
  ["Transform", fastTransform],
  ["Maximum", (k) => fastBlockwise(k, "max")],
  ["Minimum", (k) => fastBlockwise(k, "min")],
  ["Add", (k) => fastBlockwise(k, "add")],
  ["Min", (k) => fastBlockReduce(k, false)],
  ["Max", (k) => fastBlockReduce(k, true)],
  ["FusedBatchNorm", fastBatchNorm],
];
