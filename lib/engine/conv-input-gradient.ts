/**
 * A valid, stride-1 convolution's input gradient. When the input has few channels (an image's 3), a matrix product
 * and a scatter: columns = dy [n * oh * ow, o] times the filter as [o, kh * kw * c], then each output pixel's kh runs of
 * kw * c values added into dx where they belong. The usual way, a convolution of the padded dy with the flipped
 * filter, leaves XNNPACK a convolution with c output channels, which it runs slowly when c is that small.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { backendSimd } from "./wasm-simd";

export const COL2IM_KERNEL = "LessonCol2Im";
/** Inputs with fewer channels than this take the column route. */
export const FEW_INPUT_CHANNELS = 8;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Col2ImAttrs = { n: number; oh: number; ow: number; kh: number; kw: number; c: number };

/** columns [n * oh * ow, kh * kw * c] -> dx [n, oh + kh - 1, ow + kw - 1, c], summing where taps overlap. */
function col2im(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const columns = args.inputs.columns as tf.TensorInfo;
  const { n, oh, ow, kh, kw, c } = args.attrs as unknown as Col2ImAttrs;
  const [h, w] = [oh + kh - 1, ow + kw - 1];
  const out = backend.makeOutput([n, h, w, c], "float32");
  // (views after the allocation, which can move the heap)
  const g = backend.typedArrayFromHeap(columns) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const kernels = backendSimd(backend);
  if (kernels) {
    kernels.zero(dx.byteOffset, dx.byteLength);
    kernels.col2imAdd(g.byteOffset, dx.byteOffset, n, oh, ow, kh, kw * c, c);
    return out;
  }
  dx.fill(0);
  const run = kw * c;
  for (let b = 0, from = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++)
        for (let i = 0; i < kh; i++) {
          const to = ((b * h + y + i) * w + x) * c;
          for (let v = 0; v < run; v++, from++) dx[to + v] += g[from];
        }
  return out;
}

/** Registers COL2IM_KERNEL for the wasm backend (idempotent). */
export function registerCol2Im(): void {
  if (tf.getKernel(COL2IM_KERNEL, "wasm")) return;
  tf.registerKernel({
    kernelName: COL2IM_KERNEL,
    backendName: "wasm",
    kernelFunc: col2im as unknown as tf.KernelFunc,
  });
}

/**
 * dx of a valid, stride-1 conv2d with filter w [kh, kw, c, o], from dy [n, oh, ow, o]: by the column route where
 * COL2IM_KERNEL is registered on this backend and c is under FEW_INPUT_CHANNELS, else as dy padded by k - 1 on every
 * side, convolved with the filter flipped in space and its in and out channels swapped.
 */
export function conv2dInputGradient(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, c, o] = w.shape;
  const columnRoute =
    c < FEW_INPUT_CHANNELS &&
    dy.dtype === "float32" &&
    tf.getKernel(COL2IM_KERNEL, tf.getBackend()) !== undefined;
  const [n, oh, ow] = dy.shape;
  return tf.tidy(() => {
    if (!columnRoute) {
      const flipped = tf.reverse(w, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
      const padded = dy.pad([
        [0, 0],
        [kh - 1, kh - 1],
        [kw - 1, kw - 1],
        [0, 0],
      ]) as tf.Tensor4D;
      return tf.conv2d(padded, flipped, 1, "valid");
    }
    const columns = tf.matMul(
      dy.reshape([n * oh * ow, o]) as tf.Tensor2D,
      w.reshape([kh * kw * c, o]).transpose() as tf.Tensor2D,
    );
    return tf.engine().runKernel(COL2IM_KERNEL, { columns }, {
      n,
      oh,
      ow,
      kh,
      kw,
      c,
    } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}
