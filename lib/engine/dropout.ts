/**
 * Dropout masks from a hash of (seed, unit), one kernel on wasm. tf.randomUniform draws each number
 * through seedrandom in JavaScript, then the mask takes a comparison, a cast and a division: about
 * 7 ms of a feature head's 25 ms training step, for its 295k input units. Here one SIMD pass writes
 * the mask already scaled; other backends get the same values from the same hash in JavaScript.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { backendSimd } from "./wasm-simd";

export const DROPOUT_MASK_KERNEL = "LessonDropoutMask";

/** The hash's key for a seed (any whole number; its low 32 bits count). */
function keyOf(seed: number): number {
  return Math.imul((seed | 0) ^ 0x5bd1e995, 0x9e3779b1);
}

/** The draw that drops unit i when it is below `threshold`: dropout.wat's hash, in JavaScript. */
function draw(key: number, i: number): number {
  let h = (key + Math.imul(i, 0x9e3779b1)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** rate * 2^32: units whose draw is below it drop. */
function thresholdOf(rate: number): number {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), not ${rate}`);
  return Math.floor(rate * 2 ** 32);
}

/** Writes the mask's units from `from` to the end of `out`, in JavaScript. */
function fillMask(out: Float32Array, from: number, key: number, threshold: number, kept: number) {
  for (let i = from; i < out.length; i++) out[i] = draw(key, i) >= threshold ? kept : 0;
}

/** The mask's values in JavaScript: `kept` where a unit stays, 0 where it drops (probability `rate`). */
export function dropoutMaskValues(n: number, seed: number, rate: number, kept = 1): Float32Array {
  const out = new Float32Array(n);
  fillMask(out, 0, keyOf(seed), thresholdOf(rate), kept);
  return out;
}

type MaskAttrs = { shape: number[]; seed: number; rate: number; kept: number };

/** The wasm kernel: the SIMD module's pass over the whole multiple of 4, the rest in JavaScript. */
function maskOnWasm(args: { backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { shape, seed, rate, kept } = args.attrs as unknown as MaskAttrs;
  const out = backend.makeOutput(shape, "float32");
  const values = backend.typedArrayFromHeap(out) as Float32Array;
  const [key, threshold] = [keyOf(seed), thresholdOf(rate)];
  const kernels = backendSimd(backend);
  const bulk = kernels ? values.length - (values.length % 4) : 0;
  if (bulk) kernels!.dropoutMask(values.byteOffset, bulk, key, threshold | 0, kept);
  fillMask(values, bulk, key, threshold, Math.fround(kept));
  return out;
}

/** Registers the wasm kernel (idempotent). */
export function registerDropoutMask(): void {
  if (tf.getKernel(DROPOUT_MASK_KERNEL, "wasm")) return;
  tf.registerKernel({
    kernelName: DROPOUT_MASK_KERNEL,
    backendName: "wasm",
    kernelFunc: maskOnWasm as unknown as tf.KernelFunc,
  });
}

/**
 * A float32 dropout mask of `shape` for one training step: `kept` (for inverted dropout, 1 / (1 - rate)) where a
 * unit stays, 0 where it drops with probability `rate`; the same values for the same seed on every backend.
 */
export function dropoutMask(shape: number[], seed: number, rate: number, kept = 1): tf.Tensor {
  if (tf.getKernel(DROPOUT_MASK_KERNEL, tf.getBackend()))
    return tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, { shape, seed, rate, kept } as never);
  return tf.tensor(
    dropoutMaskValues(tf.util.sizeFromShape(shape), seed, rate, kept),
    shape,
    "float32",
  );
}
