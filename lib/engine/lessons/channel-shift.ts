/**
 * Lesson-shaped: the State Farm augmenter's warp and channel shift (lib/vision/augment.ts) as one wasm kernel. The
 * augmenter shifts each image's values by a random amount and clips them to the image's own range before the shift;
 * as tfjs ops that is five passes (Min, Max, Add, Maximum, Minimum) over a batch after the warp's one. Here each
 * image is shifted right after its warp, while it is in the core's cache, by the module's shiftClip
 * (kernels/channel-shift.wat), with the same values as those five ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { warpBatch, type WarpAttrs } from "../image-warp";
import type { SimdKernels } from "../wasm-simd";

type TensorInfo = tf.TensorInfo;

/**
 * One image's channel shift in place on the heap (`n` float32 values from element `start`): dst = min(max(dst +
 * shift, lo), hi) with lo and hi the image's own min and max before the shift, by the same operations as the
 * augmenter's Min, Max, Add, Maximum and Minimum, so the same values: the module's shiftClip (which the helper
 * thread runs too), or this loop where there is no SIMD.
 */
function shiftClip(
  kernels: SimdKernels | null,
  heap: Float32Array,
  start: number,
  n: number,
  shift: number,
): void {
  if (kernels) {
    kernels.shiftClip(heap.byteOffset + 4 * start, n, shift);
    return;
  }
  let lo = heap[start];
  let hi = heap[start];
  for (let i = start; i < start + n; i++) {
    lo = Math.min(lo, heap[i]);
    hi = Math.max(hi, heap[i]);
  }
  for (let i = start; i < start + n; i++)
    heap[i] = Math.min(Math.max(Math.fround(heap[i] + shift), lo), hi);
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
      const image = args.inputs.image as TensorInfo,
        shifts = args.inputs.shifts as TensorInfo;
      if (shifts.dtype !== "float32" || tf.util.sizeFromShape(shifts.shape) !== image.shape[0])
        throw new Error(
          `${SHIFTED_TRANSFORM_KERNEL}: needs one float32 shift per image, not ${shifts.dtype} ${JSON.stringify(shifts.shape)}`,
        );
      const values = Float32Array.from(backend.typedArrayFromHeap(shifts) as Float32Array);
      const out = warpBatch(
        backend,
        image,
        args.inputs.transforms as TensorInfo,
        args.attrs as WarpAttrs,
        { values, apply: shiftClip },
      );
      if (!out)
        throw new Error(
          `${SHIFTED_TRANSFORM_KERNEL}: needs a float32 [n, h, w, c] image and bilinear or nearest interpolation, not ${image.dtype} ${JSON.stringify(image.shape)}`,
        );
      return out;
    }) as unknown as tf.KernelFunc,
  });
}
