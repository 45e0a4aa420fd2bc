/**
 * Keras-style L2 on a weight matrix (l2 * sum(w²)) with a one-op gradient (2 * l2 * w): tfjs's own L2 records
 * square, mul and sum on the tape, so every batch copies the matrix, builds a full matrix of ones and casts
 * twice. Same penalty, same config and class name (L1L2 with l1 = 0) when saved.
 */
import * as tf from "@tensorflow/tfjs";
import { backendSimd, type SimdKernels } from "./wasm-simd";
import { finishStepWriting } from "./deferred-step";

type Regularizer = ReturnType<typeof tf.regularizers.l2>;
const L1L2 = (
  tf.regularizers.l1l2({ l1: 0, l2: 0 }) as unknown as {
    constructor: new (args: { l1?: number; l2?: number }) => Regularizer;
  }
).constructor;

export const SUM_SQUARES_KERNEL = "LessonSumSquares";

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type HeapBackend = {
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
};
type CpuBackend = {
  readSync(id: unknown): tf.TypedArray;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
};

function sumSquares(
  values: Float32Array,
  scale: number,
  kernels: SimdKernels | null = null,
): number {
  let sum = 0;
  let i = 0;
  if (kernels) {
    // 4-lane float32 partial sums over chunks, added up in float64.
    const bulk = values.length - (values.length % 4);
    for (; i < bulk; i += CHUNK)
      sum += kernels.sumSquares(values.byteOffset + 4 * i, Math.min(CHUNK, bulk - i));
    i = bulk;
  }
  for (; i < values.length; i++) sum += values[i] * values[i];
  return sum * scale;
}
/** Chunk length of the SIMD sums (partial float32 sums stay short; chunks are added in float64). */
export const SUM_CHUNK = 4096;
const CHUNK = SUM_CHUNK;

/**
 * sum(w²) of weights whose values the fused Adam step just wrote in place (it computes it in the same pass, chunk by
 * chunk as sumSquares does), keyed by the tensor's dataId: valid until that memory is written again, which only the
 * in-place step does (assign gives a variable a new dataId), and it updates or deletes the entry.
 */
export const sumSquaresCache = new WeakMap<object, number>();

/** scale * sum(x²) in one pass, as a kernel with no gradient of its own (l2Penalty supplies it), so nothing is saved for backprop. */
export function registerSumSquares(): void {
  if (!tf.getKernel(SUM_SQUARES_KERNEL, "wasm"))
    tf.registerKernel({
      kernelName: SUM_SQUARES_KERNEL,
      backendName: "wasm",
      kernelFunc: ((args: KernelArgs) => {
        const backend = args.backend as HeapBackend;
        const out = backend.makeOutput([], "float32");
        const kernels = backendSimd(backend);
        backend.typedArrayFromHeap(out)[0] = sumSquares(
          backend.typedArrayFromHeap(args.inputs.x as tf.TensorInfo) as Float32Array,
          Number(args.attrs!.scale),
          kernels,
        );
        return out;
      }) as unknown as tf.KernelFunc,
    });
  if (!tf.getKernel(SUM_SQUARES_KERNEL, "cpu"))
    tf.registerKernel({
      kernelName: SUM_SQUARES_KERNEL,
      backendName: "cpu",
      kernelFunc: ((args: KernelArgs) => {
        const backend = args.backend as CpuBackend;
        return backend.makeTensorInfo(
          [],
          "float32",
          Float32Array.of(
            sumSquares(
              backend.readSync((args.inputs.x as tf.TensorInfo).dataId) as Float32Array,
              Number(args.attrs!.scale),
            ),
          ),
        );
      }) as unknown as tf.KernelFunc,
    });
}

let folding: Map<string, number> | null = null;

/**
 * Runs `f` (an optimizer's minimize) with L2 gradients folded: each l2Penalty on a variable inside it is computed
 * off the gradient tape and records 2 * rate under the variable's name in `sink`, for the optimizer to add
 * 2 * rate * w to that variable's gradient itself. Only correct when the penalty enters the loss with weight 1.
 */
export function withFoldedL2<T>(sink: Map<string, number>, f: () => T): T {
  const previous = folding;
  folding = sink;
  try {
    return f();
  } finally {
    folding = previous;
  }
}

/** l2 * sum(w²) as a number, from the fused Adam's last pass over w where it computed it. */
export function penaltyOf(w: tf.Tensor, rate: number): number {
  finishStepWriting(w.dataId); // the helper thread may still be writing w (and its sum of squares)
  const cached = sumSquaresCache.get(w.dataId as object);
  if (cached !== undefined) return cached * rate;
  const backend = tf.backend() as unknown as HeapBackend & CpuBackend;
  const onWasm = tf.getBackend() === "wasm";
  const values = (
    onWasm ? backend.typedArrayFromHeap(w) : backend.readSync(w.dataId)
  ) as Float32Array;
  const kernels = onWasm ? backendSimd(backend) : null;
  return sumSquares(values, rate, kernels);
}

/** l2 * sum(w²) as a new scalar with no tie to w on the gradient tape. */
function detachedPenalty(w: tf.Tensor, rate: number): tf.Scalar {
  return tf.scalar(penaltyOf(w, rate));
}

/**
 * l2 * sum(w²), differentiable, with gradient 2 * l2 * w computed in one op. The forward is one kernel where the
 * backend has it (wasm, cpu); w is read again at backprop time rather than copied (it is a weight, unchanged until the step).
 */
export function l2Penalty(w: tf.Tensor, rate: number): tf.Scalar {
  if (folding && w instanceof tf.Variable && w.dtype === "float32") {
    folding.set(w.name, (folding.get(w.name) ?? 0) + Math.fround(2 * rate));
    return detachedPenalty(w, rate);
  }
  registerSumSquares();
  const fused = Boolean(tf.getKernel(SUM_SQUARES_KERNEL, tf.getBackend()));
  const penalty = tf.customGrad(((x: tf.Tensor) => ({
    value: fused
      ? (tf.engine().runKernel(SUM_SQUARES_KERNEL, { x }, { scale: rate }) as tf.Scalar)
      : (tf.tidy(() => tf.mul(tf.sum(tf.square(x)), rate)) as tf.Scalar),
    gradFunc: (dy: tf.Tensor) => [tf.mul(x, tf.mul(dy, 2 * rate))],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return penalty(w) as tf.Scalar;
}

/** tf.regularizers.l2 with the fused gradient above. */
export class FastL2 extends L1L2 {
  constructor(readonly rate: number) {
    super({ l1: 0, l2: rate });
  }
  getConfig(): tf.serialization.ConfigDict {
    return { l1: 0, l2: this.rate };
  }
  override apply(x: tf.Tensor): tf.Scalar {
    return l2Penalty(x, this.rate);
  }
}

/** `tf.regularizers.l2({ l2: rate })`, computed with the fused gradient. */
export function fastL2(rate: number): Regularizer {
  return new FastL2(rate);
}
