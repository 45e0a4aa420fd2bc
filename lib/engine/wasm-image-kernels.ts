/**
 * Faster versions of the wasm kernels that image work leans on (augmentation's Transform, MobileNet's
 * FusedBatchNorm and ReLU6's Minimum, the channel shift's Add, and its clipping's per-image Min/Max and
 * Maximum/Minimum against them), in JS and the project's SIMD module straight on the wasm heap. The backend's own
 * kernels index every element through a generic broadcasting loop (~10 ns each); these handle the common layouts and
 * hand anything else to the original kernel.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { finishPendingStep } from "./deferred-step";
import { MAX_WARP_IMAGES, simdHelperFor } from "./simd-helper";
import { backendSimd, wasmMemoryOf, type SimdKernels } from "./wasm-simd";

type TensorInfo = tf.TensorInfo;
type HeapBackend = BackendWasm & { disposeData(id: unknown): boolean };

/**
 * Where a coordinate outside [0, len - 1] is read from, by tf.image.transform's fill modes, in float32 as the wasm
 * kernel computes it. "reflect" follows TensorFlow ([dcba|abcd|dcba]); the wasm kernel maps coordinates in (-len, 0)
 * to the last row or column instead (an unsigned comparison in its C++), so there it differs on purpose.
 */
function mapCoord(c: number, len: number, mode: string): number {
  if (mode === "nearest") return c < 0 ? 0 : c > len - 1 ? len - 1 : c;
  if (mode === "constant") return c;
  let v = c;
  const f = Math.fround;
  if (mode === "reflect") {
    if (v < 0) {
      if (len <= 1) v = 0;
      else {
        const sz2 = 2 * len;
        if (v < sz2) v = f(sz2 * Math.trunc(f(-v / sz2)) + v);
        v = v < -len ? f(v + sz2) : f(-v - 1);
      }
    } else if (v > len - 1) {
      if (len <= 1) v = 0;
      else {
        const sz2 = 2 * len;
        v = f(v - sz2 * Math.trunc(f(v / sz2)));
        if (v >= len) v = f(sz2 - v - 1);
      }
    }
  } else if (mode === "wrap") {
    if (v < 0) v = len <= 1 ? 0 : f(v + len * (Math.trunc(f(-v / (len - 1))) + 1));
    else if (v > len - 1) v = len <= 1 ? 0 : f(v - len * Math.trunc(f(v / (len - 1))));
  }
  return v < 0 ? 0 : v > len - 1 ? len - 1 : v;
}

/** C's round(): halves away from zero (Math.round rounds them up). */
const roundHalfAway = (v: number) => (v < 0 ? -Math.round(-v) : Math.round(v));

/** Whether an affine bilinear warp with fill "nearest" or "constant" runs in the SIMD module's loop (tests compare it with the JS loop below). */
export const transformChoice = { wasmWarp: true };

/**
 * Transform (tf.image.transform: a projective warp per image, output pixel -> input pixel) for float32 NHWC images:
 * the coordinates once per pixel, then every channel, instead of once per value; the augmenter's case (affine,
 * bilinear, fill "nearest" or "constant") in the SIMD module's warp loop (wasm-warp.ts), with the same values.
 */
function fastTransform(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => warpBatch(args.backend as unknown as BackendWasm, args.inputs.image as TensorInfo, args.inputs.transforms as TensorInfo, args.attrs as unknown as WarpAttrs, null) ?? original(args);
}

/** Transform's attributes. */
interface WarpAttrs {
  interpolation: string;
  fillMode: string;
  fillValue: number;
  outputShape?: [number, number] | null;
}

/**
 * One image's channel shift in place on the heap (`n` float32 values from element `start`): dst = min(max(dst +
 * shift, lo), hi) with lo and hi the image's own min and max before the shift, by the same operations as the
 * augmenter's Min, Max, Add, Maximum and Minimum (fastBlockReduce and fastBlockwise above), so the same values, in
 * two passes (blockRange, addClamp) instead of five.
 * The helper thread's copy of this is in simd-helper.ts.
 */
function shiftClip(kernels: SimdKernels | null, heap: Float32Array, start: number, n: number, shift: number): void {
  const bulk = kernels && n >= 16 ? n - (n % 4) : 0;
  const at = heap.byteOffset + 4 * start;
  let [lo, hi] = bulk ? kernels!.blockRange(at, bulk) : [heap[start], heap[start]];
  for (let i = start + bulk; i < start + n; i++) (lo = Math.min(lo, heap[i])), (hi = Math.max(hi, heap[i]));
  if (bulk) kernels!.addClamp(at, at, bulk, shift, lo, hi);
  for (let i = start + bulk; i < start + n; i++) heap[i] = Math.min(Math.max(Math.fround(heap[i] + shift), lo), hi);
}

/**
 * The warp of fastTransform, and with `shifts` (one per image) each image's channel shift right after its warp,
 * while it is still in the core's cache (5 more passes over a whole batch of 224x224 images took about as long as
 * the warp). Null where the backend's kernel has to do it.
 */
function warpBatch(backend: BackendWasm, image: TensorInfo, transforms: TensorInfo, attrs: WarpAttrs, shifts: Float32Array | null): TensorInfo | null {
  const { interpolation, fillMode, fillValue, outputShape } = attrs;
  if (image.dtype !== "float32" || transforms.dtype !== "float32" || image.shape.length !== 4 || (interpolation !== "bilinear" && interpolation !== "nearest")) return null;
  const [batch, inH, inW, ch] = image.shape;
  const [outH, outW] = outputShape ?? [inH, inW];
  const out = backend.makeOutput([batch, outH, outW, ch], "float32");
  const src = backend.typedArrayFromHeap(image) as Float32Array;
  const mats = backend.typedArrayFromHeap(transforms) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const f = Math.fround;
  const fill = f(fillValue);
  const rowStride = inW * ch;
  const bilinear = interpolation === "bilinear";
  const clampOnly = fillMode === "nearest";
  const maxX = inW - 1, maxY = inH - 1;
  const kernels = transformChoice.wasmWarp && bilinear && (clampOnly || fillMode === "constant") ? backendSimd(backend) : null;
  // One value from image b at integer (y, x), or the fill value outside it.
  const read = (base: number, y: number, x: number, c: number) => (y >= 0 && y < inH && x >= 0 && x < inW ? src[base + y * rowStride + x * ch + c] : fill);
  // A batch of affine warps: the helper thread, where there is one, warps the last images while this one does the rest.
  const perImage = transforms.shape[0] !== 1;
  const allAffine = perImage ? mats.every((v, i) => i % 8 < 6 || v === 0) : mats[6] === 0 && mats[7] === 0;
  const memory = kernels && allAffine && batch > 1 && batch <= MAX_WARP_IMAGES ? wasmMemoryOf(backend) : null;
  const helper = memory ? simdHelperFor(memory) : null;
  let first = 0;
  if (helper) {
    finishPendingStep(); // the helper may still be finishing an Adam step
    first = Math.min(batch - 1, Math.max(1, Math.round(batch * (1 - helper.warpShare))));
    const matrices = new Float64Array(6 * (batch - first));
    for (let b = first; b < batch; b++) matrices.set(mats.subarray((perImage ? b : 0) * 8, (perImage ? b : 0) * 8 + 6), 6 * (b - first));
    const imageBytes = 4 * inH * rowStride, outBytes = 4 * outH * outW * ch;
    helper.startWarp({ src: src.byteOffset + first * imageBytes, dst: dst.byteOffset + first * outBytes, inH, inW, ch, outH, outW, clamp: clampOnly ? 1 : 0, count: batch - first, srcStride: imageBytes, dstStride: outBytes, fill }, matrices, shifts?.subarray(first));
  }
  const outSize = outH * outW * ch;
  const shiftKernels = shifts ? backendSimd(backend) : null; // the shift's SIMD passes run whichever loop warped
  for (let b = 0; b < (helper ? first : batch); b++) {
    const t = perImage ? b * 8 : 0;
    if (kernels && mats[t + 6] === 0 && mats[t + 7] === 0) {
      kernels.warp(src.byteOffset + 4 * b * inH * rowStride, dst.byteOffset + 4 * b * outSize, inH, inW, ch, outH, outW, clampOnly ? 1 : 0, mats[t], mats[t + 1], mats[t + 2], mats[t + 3], mats[t + 4], mats[t + 5], fill);
    } else warpInJs(b, b * outSize);
    if (shifts) shiftClip(shiftKernels, dst, b * outSize, outSize, shifts[b]);
  }
  helper?.finishWarp();
  return out;

  /** Image b's warp in JS, written from element o of the output. */
  function warpInJs(b: number, o: number): void {
    const t = perImage ? b * 8 : 0;
    const a0 = mats[t], a1 = mats[t + 1], a2 = mats[t + 2], b0 = mats[t + 3], b1 = mats[t + 4], b2 = mats[t + 5], c0 = mats[t + 6], c1 = mats[t + 7];
    const affine = c0 === 0 && c1 === 0;
    const base = b * inH * rowStride;
    for (let oy = 0; oy < outH; oy++) {
      const py = f(c1 * oy), xy = f(a1 * oy), yy = f(b1 * oy);
      for (let ox = 0; ox < outW; ox++, o += ch) {
        // The source coordinates in float32 arithmetic, as the backend's kernel computes them.
        const projection = affine ? 1 : f(f(f(c0 * ox) + py) + 1);
        if (projection === 0) {
          for (let c = 0; c < ch; c++) dst[o + c] = fill;
          continue;
        }
        // (for an affine warp the projection is exactly 1, and dividing by it changes nothing)
        let x = affine ? f(f(f(a0 * ox) + xy) + a2) : f(f(f(f(a0 * ox) + xy) + a2) / projection);
        let y = affine ? f(f(f(b0 * ox) + yy) + b2) : f(f(f(f(b0 * ox) + yy) + b2) / projection);
        if (clampOnly) {
          x = x < 0 ? 0 : x > maxX ? maxX : x;
          y = y < 0 ? 0 : y > maxY ? maxY : y;
        } else {
          x = mapCoord(x, inW, fillMode);
          y = mapCoord(y, inH, fillMode);
        }
        if (!bilinear) {
          const ry = roundHalfAway(y), rx = roundHalfAway(x);
          for (let c = 0; c < ch; c++) dst[o + c] = read(base, ry, rx, c);
          continue;
        }
        const y0 = Math.floor(y), x0 = Math.floor(x);
        const wy1 = y - y0, wy0 = y0 + 1 - y, wx1 = x - x0, wx0 = x0 + 1 - x;
        if (y0 >= 0 && y0 < maxY && x0 >= 0 && x0 < maxX) {
          // All four neighbours inside: no bounds checks.
          const p = base + y0 * rowStride + x0 * ch;
          if (ch === 3) {
            const q = p + rowStride;
            dst[o] = wy0 * (wx0 * src[p] + wx1 * src[p + 3]) + wy1 * (wx0 * src[q] + wx1 * src[q + 3]);
            dst[o + 1] = wy0 * (wx0 * src[p + 1] + wx1 * src[p + 4]) + wy1 * (wx0 * src[q + 1] + wx1 * src[q + 4]);
            dst[o + 2] = wy0 * (wx0 * src[p + 2] + wx1 * src[p + 5]) + wy1 * (wx0 * src[q + 2] + wx1 * src[q + 5]);
            continue;
          }
          for (let c = 0; c < ch; c++) {
            const top = wx0 * src[p + c] + wx1 * src[p + ch + c];
            const bottom = wx0 * src[p + rowStride + c] + wx1 * src[p + rowStride + ch + c];
            dst[o + c] = wy0 * top + wy1 * bottom;
          }
        } else {
          for (let c = 0; c < ch; c++) {
            const top = wx0 * read(base, y0, x0, c) + wx1 * read(base, y0, x0 + 1, c);
            const bottom = wx0 * read(base, y0 + 1, x0, c) + wx1 * read(base, y0 + 1, x0 + 1, c);
            dst[o + c] = wy0 * top + wy1 * bottom;
          }
        }
      }
    }
  }
}

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
 * kernel, whose generic broadcasting loop took ~0.4 ms per 224x224 image for the channel shift's Add.
 */
function fastBlockwise(original: tf.KernelFunc, op: keyof typeof BLOCKWISE): tf.KernelFunc {
  const { simd, js } = BLOCKWISE[op];
  return (args) => {
    const backend = args.backend as unknown as HeapBackend;
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    if (a.dtype !== "float32" || b.dtype !== "float32" || tf.util.arraysEqual(a.shape, b.shape)) return original(args);
    const aBig = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape);
    // max(v, x) with v the small operand first gives v where x is NaN in the backend's kernel (std::max's order), not
    // NaN as the SIMD loop does: that order (ReLU6 and the channel clip put x first) goes to the backend's kernel
    if (!aBig && op !== "add") return original(args);
    const big = aBig ? a : b, small = aBig ? b : a;
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
    const { axis = undefined, reductionIndices = undefined, keepDims } = args.attrs as unknown as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
    const given = axis ?? reductionIndices;
    if (given === undefined) return original(args);
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(given) ? given : [given]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
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
      for (let j = i + block4; j < i + block; j++) best = isMax ? Math.max(best, src[j]) : Math.min(best, src[j]);
      dst[k] = best;
    }
    return out;
  };
}

/** Values of a batch-norm parameter per channel (length c), when it is a scalar or holds one value per channel along the last axis. */
function perChannel(info: TensorInfo | undefined, backend: BackendWasm, c: number, fallback: number): Float32Array | null {
  if (!info) return new Float32Array(c).fill(fallback);
  const size = tf.util.sizeFromShape(info.shape);
  if (info.dtype !== "float32" || (size !== 1 && (size !== c || info.shape[info.shape.length - 1] !== c))) return null;
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
    const eps = Number((args.attrs as unknown as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001);
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
    for (let i = 0; i < src.length; i += c) for (let j = 0; j < c; j++) dst[i + j] = (src[i + j] - mean[j]) * mul[j] + offset[j];
    return out;
  };
}

/**
 * The augmenter's warp and channel shift as one wasm kernel (inputs image, transforms as Transform's, and shifts: one
 * float32 per image; Transform's attributes): each image warped, then shifted and clipped to its own range while it
 * is in the cache, with the same values as Transform, Min, Max, Add, Maximum and Minimum one after another.
 */
export const SHIFTED_TRANSFORM_KERNEL = "LessonShiftedTransform";

/** Registers SHIFTED_TRANSFORM_KERNEL for the wasm backend (idempotent); applyTransforms uses it where registered. */
export function registerShiftedTransform(): void {
  if (tf.getKernel(SHIFTED_TRANSFORM_KERNEL, "wasm")) return;
  tf.registerKernel({
    kernelName: SHIFTED_TRANSFORM_KERNEL,
    backendName: "wasm",
    kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }) => {
      const backend = args.backend as BackendWasm;
      const image = args.inputs.image as TensorInfo, shifts = args.inputs.shifts as TensorInfo;
      if (shifts.dtype !== "float32" || tf.util.sizeFromShape(shifts.shape) !== image.shape[0]) throw new Error(`${SHIFTED_TRANSFORM_KERNEL}: needs one float32 shift per image, not ${shifts.dtype} ${JSON.stringify(shifts.shape)}`);
      const values = Float32Array.from(backend.typedArrayFromHeap(shifts) as Float32Array);
      const out = warpBatch(backend, image, args.inputs.transforms as TensorInfo, args.attrs as WarpAttrs, values);
      if (!out) throw new Error(`${SHIFTED_TRANSFORM_KERNEL}: needs a float32 [n, h, w, c] image and bilinear or nearest interpolation, not ${image.dtype} ${JSON.stringify(image.shape)}`);
      return out;
    }) as unknown as tf.KernelFunc,
  });
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
