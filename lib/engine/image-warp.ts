/**
 * tf.image.transform's wasm kernel (Transform) for float32 NHWC images, faster: the coordinates once per pixel, then
 * every channel, instead of once per value; the augmenter's case (affine, bilinear, fill "nearest" or "constant") in
 * the SIMD module's warp (kernels/warp.wat), with a batch split between this thread and the helper thread. The JS
 * loop here is the reference the module's warp matches bit for bit, and runs every other case.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { MAX_WARP_IMAGES, simdHelperFor } from "./simd-helper";
import { backendSimd, wasmMemoryOf, type SimdKernels } from "./wasm-simd";

type TensorInfo = tf.TensorInfo;

/** A channel shift applied to one image on the heap (`n` values from element `start`) right after its warp. */
export type ShiftImage = (
  kernels: SimdKernels | null,
  heap: Float32Array,
  start: number,
  n: number,
  shift: number,
) => void;

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
 * bilinear, fill "nearest" or "constant") in the SIMD module's warp loop (kernels/warp.wat), with the same values.
 */
export function fastTransform(original: tf.KernelFunc): tf.KernelFunc {
  return (args) =>
    warpBatch(
      args.backend as unknown as BackendWasm,
      args.inputs.image as TensorInfo,
      args.inputs.transforms as TensorInfo,
      args.attrs as unknown as WarpAttrs,
      null,
    ) ?? original(args);
}

/** Transform's attributes. */
export interface WarpAttrs {
  interpolation: string;
  fillMode: string;
  fillValue: number;
  outputShape?: [number, number] | null;
}

/** Per-image channel shifts to apply right after each image's warp, and the function that applies one. */
export interface Shifts {
  values: Float32Array;
  apply: ShiftImage;
}

/**
 * The warp of fastTransform, and with `shift` each image's channel shift right after its warp, while the image is
 * still in the core's cache (`shift.apply` here; the module's shiftClip, the same operations, on the helper
 * thread). Null where the backend's kernel has to do it.
 */
export function warpBatch(
  backend: BackendWasm,
  image: TensorInfo,
  transforms: TensorInfo,
  attrs: WarpAttrs,
  shift: Shifts | null,
): TensorInfo | null {
  const shifts = shift?.values ?? null;
  const { interpolation, fillMode, fillValue, outputShape } = attrs;
  if (
    image.dtype !== "float32" ||
    transforms.dtype !== "float32" ||
    image.shape.length !== 4 ||
    (interpolation !== "bilinear" && interpolation !== "nearest")
  )
    return null;
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
  const maxX = inW - 1,
    maxY = inH - 1;
  const kernels =
    transformChoice.wasmWarp && bilinear && (clampOnly || fillMode === "constant")
      ? backendSimd(backend)
      : null;
  // One value from image b at integer (y, x), or the fill value outside it.
  const read = (base: number, y: number, x: number, c: number) =>
    y >= 0 && y < inH && x >= 0 && x < inW ? src[base + y * rowStride + x * ch + c] : fill;
  // A batch of affine warps: the helper thread, where there is one, warps the last images while this one does the rest.
  const perImage = transforms.shape[0] !== 1;
  const allAffine = perImage
    ? mats.every((v, i) => i % 8 < 6 || v === 0)
    : mats[6] === 0 && mats[7] === 0;
  const memory =
    kernels && allAffine && batch > 1 && batch <= MAX_WARP_IMAGES ? wasmMemoryOf(backend) : null;
  const helper = memory ? simdHelperFor(memory) : null;
  let first = 0;
  if (helper) {
    first = Math.min(batch - 1, Math.max(1, Math.round(batch * (1 - helper.warpShare))));
    const matrices = new Float64Array(6 * (batch - first));
    for (let b = first; b < batch; b++)
      matrices.set(
        mats.subarray((perImage ? b : 0) * 8, (perImage ? b : 0) * 8 + 6),
        6 * (b - first),
      );
    const imageBytes = 4 * inH * rowStride,
      outBytes = 4 * outH * outW * ch;
    helper.startWarp(
      {
        src: src.byteOffset + first * imageBytes,
        dst: dst.byteOffset + first * outBytes,
        inH,
        inW,
        ch,
        outH,
        outW,
        clamp: clampOnly ? 1 : 0,
        count: batch - first,
        srcStride: imageBytes,
        dstStride: outBytes,
        fill,
      },
      matrices,
      shifts?.subarray(first),
    );
  }
  const outSize = outH * outW * ch;
  const shiftKernels = shifts ? backendSimd(backend) : null; // the shift's SIMD passes run whichever loop warped
  for (let b = 0; b < (helper ? first : batch); b++) {
    const t = perImage ? b * 8 : 0;
    if (kernels && mats[t + 6] === 0 && mats[t + 7] === 0) {
      kernels.warp(
        src.byteOffset + 4 * b * inH * rowStride,
        dst.byteOffset + 4 * b * outSize,
        inH,
        inW,
        ch,
        outH,
        outW,
        clampOnly ? 1 : 0,
        mats[t],
        mats[t + 1],
        mats[t + 2],
        mats[t + 3],
        mats[t + 4],
        mats[t + 5],
        fill,
      );
    } else warpInJs(b, b * outSize);
    if (shift) shift.apply(shiftKernels, dst, b * outSize, outSize, shift.values[b]);
  }
  helper?.finishWarp();
  return out;

  /** Image b's warp in JS, written from element o of the output. */
  function warpInJs(b: number, o: number): void {
    const t = perImage ? b * 8 : 0;
    const a0 = mats[t],
      a1 = mats[t + 1],
      a2 = mats[t + 2],
      b0 = mats[t + 3],
      b1 = mats[t + 4],
      b2 = mats[t + 5],
      c0 = mats[t + 6],
      c1 = mats[t + 7];
    const affine = c0 === 0 && c1 === 0;
    const base = b * inH * rowStride;
    for (let oy = 0; oy < outH; oy++) {
      const py = f(c1 * oy),
        xy = f(a1 * oy),
        yy = f(b1 * oy);
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
          const ry = roundHalfAway(y),
            rx = roundHalfAway(x);
          for (let c = 0; c < ch; c++) dst[o + c] = read(base, ry, rx, c);
          continue;
        }
        const y0 = Math.floor(y),
          x0 = Math.floor(x);
        const wy1 = y - y0,
          wy0 = y0 + 1 - y,
          wx1 = x - x0,
          wx0 = x0 + 1 - x;
        if (y0 >= 0 && y0 < maxY && x0 >= 0 && x0 < maxX) {
          // All four neighbours inside: no bounds checks.
          const p = base + y0 * rowStride + x0 * ch;
          if (ch === 3) {
            const q = p + rowStride;
            dst[o] =
              wy0 * (wx0 * src[p] + wx1 * src[p + 3]) + wy1 * (wx0 * src[q] + wx1 * src[q + 3]);
            dst[o + 1] =
              wy0 * (wx0 * src[p + 1] + wx1 * src[p + 4]) +
              wy1 * (wx0 * src[q + 1] + wx1 * src[q + 4]);
            dst[o + 2] =
              wy0 * (wx0 * src[p + 2] + wx1 * src[p + 5]) +
              wy1 * (wx0 * src[q + 2] + wx1 * src[q + 5]);
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
