/**
 * A valid, stride-1 convolution's filter gradient as one matrix product: the input's patches laid out as rows, one
 * per filter tap and channel ([kh * kw * c, n * oh * ow]), times dy as [n * oh * ow, filters]. The wasm backend has
 * no Conv2DBackpropFilter, and the other way to get it, a forward convolution with the images as channels (plus two
 * transposes), is several times slower than this product for the small CNN's first layer.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { backendSimd } from "./wasm-simd";

export const PATCH_ROWS_KERNEL = "LessonPatchRows";

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Whether the patch rows are copied by the SIMD module's loop where it runs (tests compare it with the JS loop). */
export const patchRowsChoice = { simd: true };

/** x [n, h, w, c] -> [kh * kw * c, n * oh * ow]: row (i, j, ch) holds x[b, y + i, x + j, ch] for each output pixel (b, y, x) in order. */
function patchRows(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x as tf.TensorInfo;
  const kh = Number(args.attrs!.kh),
    kw = Number(args.attrs!.kw);
  const [n, h, w, c] = x.shape;
  const oh = h - kh + 1,
    ow = w - kw + 1,
    pixels = n * oh * ow;
  const out = backend.makeOutput([kh * kw * c, pixels], "float32");
  // (views after the allocation, which can move the heap)
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const kernels = patchRowsChoice.simd ? backendSimd(backend) : null;
  if (kernels) {
    // each row in the SIMD module's patchRow loop (a wasm loop, without JS's bounds checks)
    for (let i = 0, r = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        for (let ch = 0; ch < c; ch++, r++)
          kernels.patchRow(
            src.byteOffset + 4 * ((i * w + j) * c + ch),
            dst.byteOffset + 4 * r * pixels,
            n,
            oh,
            ow,
            4 * h * w * c,
            4 * w * c,
            4 * c,
          );
      }
    }
    return out;
  }
  let o = 0;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let ch = 0; ch < c; ch++) {
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < oh; y++) {
            let p = ((b * h + y + i) * w + j) * c + ch;
            for (let xo = 0; xo < ow; xo++, p += c) dst[o++] = src[p];
          }
        }
      }
    }
  }
  return out;
}

/** Registers PATCH_ROWS_KERNEL for the wasm backend (idempotent). */
export function registerPatchRows(): void {
  if (!tf.getKernel(PATCH_ROWS_KERNEL, "wasm"))
    tf.registerKernel({
      kernelName: PATCH_ROWS_KERNEL,
      backendName: "wasm",
      kernelFunc: patchRows as unknown as tf.KernelFunc,
    });
}

/**
 * dw[i, j, c, o] = sum over b, y, x of x[b, y + i, x + j, c] * dy[b, y, x, o], the filter gradient of a valid,
 * stride-1 conv2d of x with a [kh, kw, c, o] filter: the patch rows times dy where PATCH_ROWS_KERNEL is registered,
 * elsewhere a forward conv2d with the channels as the batch and the images as the channels.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  kh: number,
  kw: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , , c] = x.shape;
    const filters = dy.shape[3];
    if (x.dtype === "float32" && tf.getKernel(PATCH_ROWS_KERNEL, tf.getBackend())) {
      const rows = tf.engine().runKernel(PATCH_ROWS_KERNEL, { x }, {
        kh,
        kw,
      } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
      return tf
        .matMul(rows, dy.reshape([-1, filters]) as tf.Tensor2D)
        .reshape([kh, kw, c, filters]) as tf.Tensor4D;
    }
    // x -> [c, h, w, n], dy -> [oh, ow, n, o]: their valid conv2d is [c, kh, kw, o]
    return tf
      .conv2d(
        x.transpose([3, 1, 2, 0]) as tf.Tensor4D,
        dy.transpose([1, 2, 0, 3]) as tf.Tensor4D,
        1,
        "valid",
      )
      .transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}
