/**
 * ReLU's gradient in one pass on wasm: tfjs writes it as dy * cast(step(x)), three kernels and two full-size
 * temporaries per ReLU layer, where one pass does. The same
 * values, dy * step(x), from the SIMD module's reluGrad; other backends keep tfjs's own gradient.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { backendSimd } from "./wasm-simd";

export const RELU_GRAD_KERNEL = "LessonReluGrad";

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown };

/** dy * step(x) for float32 dy and x of one shape. */
function reluGrad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs.dy as tf.TensorInfo,
    x = args.inputs.x as tf.TensorInfo;
  const out = backend.makeOutput(x.shape, "float32");
  // (views after the allocation, which can move the heap)
  const g = backend.typedArrayFromHeap(dy) as Float32Array,
    xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const kernels = backendSimd(backend);
  const bulk = kernels ? xs.length - (xs.length % 4) : 0;
  if (bulk) kernels!.reluGrad(g.byteOffset, xs.byteOffset, dst.byteOffset, bulk);
  for (let i = bulk; i < xs.length; i++)
    dst[i] = g[i] * (xs[i] > 0 ? 1 : Number.isNaN(xs[i]) ? NaN : 0);
  return out;
}

/** The gradient tfjs registers for Relu (kept for the backends without RELU_GRAD_KERNEL). */
const tfjsReluGrad = tf.getGradient("Relu");

/**
 * dy * step(x): ReLU's gradient at x (or at its output, which is positive where x is), in one pass
 * where RELU_GRAD_KERNEL is registered on this backend.
 */
export function reluGradient(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const fast =
    dy.dtype === "float32" &&
    x.dtype === "float32" &&
    tf.util.arraysEqual(dy.shape, x.shape) &&
    tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) !== undefined;
  if (!fast) return tf.tidy(() => tf.mul(dy, tf.cast(tf.step(x), "float32"))); // tfjs's own
  return tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }, {}) as tf.Tensor;
}

/** Registers RELU_GRAD_KERNEL for wasm and Relu's gradient through it where it is registered (idempotent). */
export function registerReluGrad(): void {
  if (tf.getKernel(RELU_GRAD_KERNEL, "wasm")) return;
  tf.registerKernel({
    kernelName: RELU_GRAD_KERNEL,
    backendName: "wasm",
    kernelFunc: reluGrad as unknown as tf.KernelFunc,
  });
  if (!tfjsReluGrad) return;
  tf.registerGradient({
    ...tfjsReluGrad,
    gradFunc: (dy, saved, attrs) => {
      if (Array.isArray(dy)) return tfjsReluGrad.gradFunc(dy, saved, attrs);
      return { x: () => reluGradient(dy, saved[0]) };
    },
  });
}
