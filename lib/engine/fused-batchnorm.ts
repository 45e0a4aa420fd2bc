/**
 * Keras' BatchNormalization with its training pass fused on wasm: tfjs-layers computes it as moments, then batchNorm,
 * and the gradient tape replays ~25 full-size elementwise kernels backwards, each a pass over memory. Here the forward pass is two passes over the input (float64 sums and
 * sums of squares, then the normalisation) and the backward pass two more (float64 sums of dy and dy*x, then
 * dx = A dy + B x + C per channel), the usual batch-norm gradient with the terms through the batch mean and variance.
 * Same layer, weights, config and moving averages; where the fused kernels are not registered (other backends) the
 * layer is tfjs's own.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { backendSimd, type SimdKernels } from "./wasm-simd";

export const BATCH_NORM_TRAIN_KERNEL = "LessonBatchNormTrain";
export const BATCH_NORM_TRAIN_GRAD_KERNEL = "LessonBatchNormTrainGrad";

type TensorInfo = tf.TensorInfo;
type HeapBackend = BackendWasm & { disposeData(id: unknown): boolean };
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/**
 * How many rows of `c` channels the SIMD loops take as one row (a multiple of 4 values: RGB's 3 channels as rows of
 * 12, 4 pixels each), or 0 where they cannot (no SIMD, or the rows do not divide).
 */
function simdGroup(kernels: SimdKernels | null, rows: number, c: number): number {
  const group = c % 4 === 0 ? 1 : c % 2 === 0 ? 2 : 4;
  return kernels && rows % group === 0 ? group : 0;
}

/**
 * The heap memory one kernel call needs besides its inputs, allocated before any view of the heap is taken (an
 * allocation can grow the heap, which detaches views of an unshared memory): its outputs and, for the SIMD loops,
 * float64 sums (4 * wide floats) and per-channel parameters (3 * wide floats).
 */
function allocate(
  backend: HeapBackend,
  kernels: SimdKernels | null,
  rows: number,
  c: number,
  outputs: number[][],
) {
  const group = simdGroup(kernels, rows, c),
    wide = c * group;
  const infos = outputs.map((shape) => backend.makeOutput(shape, "float32"));
  const sums = group ? backend.makeOutput([4 * wide], "float32") : null;
  const params = group ? backend.makeOutput([3 * wide], "float32") : null;
  return {
    group,
    wide,
    infos,
    view: (info: TensorInfo) => backend.typedArrayFromHeap(info) as Float32Array,
    sums,
    params,
    release: () => [sums, params].forEach((t) => t && backend.disposeData(t.dataId)),
  };
}
type Scratch = ReturnType<typeof allocate>;

/**
 * Float64 per-channel arrays kept between calls, `count` of them for `c` channels (their values are the caller's to
 * set), so a training step allocates none: for a feature head's input that was eleven arrays of 9216 per step.
 */
const channelScratch = new Map<number, Float64Array[]>();
function channelArrays(c: number, count: number): Float64Array[] {
  let arrays = channelScratch.get(c);
  if (!arrays || arrays.length < count) {
    arrays = Array.from({ length: count }, () => new Float64Array(c));
    channelScratch.set(c, arrays);
  }
  return arrays;
}

/**
 * Float64 per-channel sums of x and of x*y over the rows of [rows, c] float32 data on the heap: the SIMD module's
 * columnPairSums over rows of `group` pixels, folded to channels, or a JS loop.
 */
function pairSums(
  kernels: SimdKernels | null,
  scratch: Scratch,
  x: Float32Array,
  y: Float32Array,
  rows: number,
  c: number,
): [Float64Array, Float64Array] {
  const [sums, products] = channelArrays(c, 2).map((a) => a.fill(0));
  const { group, wide } = scratch;
  if (group) {
    const view = scratch.view(scratch.sums!);
    kernels!.zero(view.byteOffset, view.byteLength);
    kernels!.columnPairSums(x.byteOffset, y.byteOffset, view.byteOffset, rows / group, wide);
    const acc = new Float64Array(view.buffer, view.byteOffset, 2 * wide);
    for (let j = 0, ch = 0; j < wide; j++, ch = ch + 1 === c ? 0 : ch + 1) {
      sums[ch] += acc[j];
      products[ch] += acc[wide + j];
    }
    return [sums, products];
  }
  for (let r = 0, o = 0; r < rows; r++, o += c) {
    for (let j = 0; j < c; j++) {
      sums[j] += x[o + j];
      products[j] += x[o + j] * y[o + j];
    }
  }
  return [sums, products];
}

/** dst = a * p0[j] + b * p1[j] + p2[j] per channel (b may be null: dst = a * p0[j] + p2[j]). */
function perChannelAffine(
  kernels: SimdKernels | null,
  scratch: Scratch,
  a: Float32Array,
  b: Float32Array | null,
  dst: Float32Array,
  c: number,
  p0: Float64Array,
  p1: Float64Array | null,
  p2: Float64Array,
): void {
  const { group, wide } = scratch;
  if (group) {
    const p = scratch.view(scratch.params!);
    // the per-channel values repeated for the `group` pixels of a SIMD row, at p[at...] (a plain loop: with a
    // Float32Array.from and a mapping function, this took about half the kernel's time for 9216 channels)
    const tiled = (v: Float64Array | null, at: number) => {
      for (let j = 0, ch = 0; j < wide; j++, ch = ch + 1 === c ? 0 : ch + 1)
        p[at + j] = v ? v[ch] : 0;
    };
    if (b) {
      tiled(p0, 0);
      tiled(p1, wide);
      tiled(p2, 2 * wide);
      kernels!.twoTermAffine(
        a.byteOffset,
        b.byteOffset,
        dst.byteOffset,
        a.length,
        wide,
        p.byteOffset,
      );
    } else {
      // batchNorm's form: (a - mean) * mul + offset, with mean 0
      tiled(null, 0);
      tiled(p0, wide);
      tiled(p2, 2 * wide);
      kernels!.batchNorm(a.byteOffset, dst.byteOffset, a.length, wide, p.byteOffset);
    }
    return;
  }
  const q0 = Float32Array.from(p0),
    q1 = p1 ? Float32Array.from(p1) : null,
    q2 = Float32Array.from(p2);
  for (let o = 0; o < a.length; o += c) {
    for (let j = 0; j < c; j++)
      dst[o + j] = b ? a[o + j] * q0[j] + b[o + j] * q1![j] + q2[j] : a[o + j] * q0[j] + q2[j];
  }
}

/** Forward: x [..., c], gamma and beta [c] -> y, the batch mean and (biased) variance, and 1 / sqrt(variance + epsilon). */
function trainForward(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as HeapBackend;
  const x = args.inputs.x as TensorInfo;
  const epsilon = Number(args.attrs!.epsilon);
  const c = x.shape[x.shape.length - 1],
    rows = tf.util.sizeFromShape(x.shape) / c;
  const kernels = backendSimd(backend);
  const scratch = allocate(backend, kernels, rows, c, [x.shape, [c], [c], [c]]);
  const [y, meanOut, varianceOut, invStdOut] = scratch.infos;
  const xs = scratch.view(x);
  const gamma = scratch.view(args.inputs.gamma as TensorInfo),
    beta = scratch.view(args.inputs.beta as TensorInfo);
  const [sums, squares] = pairSums(kernels, scratch, xs, xs, rows, c);
  const [, , mean, variance, invStd, mul, offset] = channelArrays(c, 7);
  for (let j = 0; j < c; j++) {
    mean[j] = sums[j] / rows;
    variance[j] = Math.max(0, squares[j] / rows - mean[j] * mean[j]);
    invStd[j] = 1 / Math.sqrt(Math.fround(variance[j]) + epsilon);
    // y = x * (gamma / std) + (beta - mean * gamma / std)
    mul[j] = gamma[j] * invStd[j];
    offset[j] = beta[j] - mean[j] * mul[j];
  }
  perChannelAffine(kernels, scratch, xs, null, scratch.view(y), c, mul, null, offset);
  scratch.view(meanOut).set(mean);
  scratch.view(varianceOut).set(variance);
  scratch.view(invStdOut).set(invStd);
  scratch.release();
  return [y, meanOut, varianceOut, invStdOut];
}

/** Backward: dy, x, gamma, mean, invStd -> dx, dgamma, dbeta. */
function trainBackward(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as HeapBackend;
  const dy = args.inputs.dy as TensorInfo,
    x = args.inputs.x as TensorInfo;
  const c = x.shape[x.shape.length - 1],
    rows = tf.util.sizeFromShape(x.shape) / c;
  const kernels = backendSimd(backend);
  const scratch = allocate(backend, kernels, rows, c, [x.shape, [c], [c]]);
  const [dx, dgammaOut, dbetaOut] = scratch.infos;
  const g = scratch.view(dy),
    xs = scratch.view(x);
  const gamma = scratch.view(args.inputs.gamma as TensorInfo);
  const mean = scratch.view(args.inputs.mean as TensorInfo),
    invStd = scratch.view(args.inputs.invStd as TensorInfo);
  const [dySums, dyX] = pairSums(kernels, scratch, g, xs, rows, c);
  const [, , dgamma, a, b, k] = channelArrays(c, 7);
  for (let j = 0; j < c; j++) {
    // dgamma = sum(dy * xhat) with xhat = (x - mean) * invStd; dbeta = sum(dy)
    dgamma[j] = invStd[j] * (dyX[j] - mean[j] * dySums[j]);
    // dx = gamma invStd / M (M dy - dbeta - xhat dgamma) = a dy + b x + k
    a[j] = gamma[j] * invStd[j];
    b[j] = (-a[j] * invStd[j] * dgamma[j]) / rows;
    k[j] = (-a[j] * dySums[j]) / rows - b[j] * mean[j];
  }
  perChannelAffine(kernels, scratch, g, xs, scratch.view(dx), c, a, b, k);
  scratch.view(dgammaOut).set(dgamma);
  scratch.view(dbetaOut).set(dySums);
  scratch.release();
  return [dx, dgammaOut, dbetaOut];
}

/** Registers the two kernels for the wasm backend (idempotent); FastBatchNormalization uses them where registered. */
export function registerFusedBatchNorm(): void {
  if (!tf.getKernel(BATCH_NORM_TRAIN_KERNEL, "wasm"))
    tf.registerKernel({
      kernelName: BATCH_NORM_TRAIN_KERNEL,
      backendName: "wasm",
      kernelFunc: trainForward as unknown as tf.KernelFunc,
    });
  if (!tf.getKernel(BATCH_NORM_TRAIN_GRAD_KERNEL, "wasm"))
    tf.registerKernel({
      kernelName: BATCH_NORM_TRAIN_GRAD_KERNEL,
      backendName: "wasm",
      kernelFunc: trainBackward as unknown as tf.KernelFunc,
    });
}

/** Whether the fused training pass runs for x on the current backend. */
export function fusedBatchNormAvailable(x: tf.Tensor): boolean {
  return (
    x.dtype === "float32" &&
    x.rank >= 2 &&
    tf.getKernel(BATCH_NORM_TRAIN_KERNEL, tf.getBackend()) !== undefined
  );
}

/**
 * Batch norm in training over every axis but the last: [y, batch mean, batch variance], y differentiable with
 * respect to x, gamma and beta (through the fused kernels). The mean and variance are the caller's to dispose.
 */
export function batchNormInTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  let stats: [tf.Tensor1D, tf.Tensor1D] | null = null;
  const f = tf.customGrad(((
    xIn: tf.Tensor,
    gammaIn: tf.Tensor,
    betaIn: tf.Tensor,
    save: tf.GradSaveFunc,
  ) => {
    const [y, mean, variance, invStd] = tf
      .engine()
      .runKernel(BATCH_NORM_TRAIN_KERNEL, { x: xIn, gamma: gammaIn, beta: betaIn }, {
        epsilon,
      } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    stats = [tf.keep(mean) as tf.Tensor1D, tf.keep(variance) as tf.Tensor1D];
    save([xIn, gammaIn, mean, invStd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, ms, is] = saved;
        return tf
          .engine()
          .runKernel(
            BATCH_NORM_TRAIN_GRAD_KERNEL,
            { dy, x: xs, gamma: gs, mean: ms, invStd: is },
            {},
          ) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = f(x, gamma, beta) as tf.Tensor;
  return [y, stats![0], stats![1]];
}

type LayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];
const BatchNormalizationLayer = (
  tf.layers.batchNormalization({}) as unknown as {
    constructor: new (args: LayerArgs) => tf.layers.Layer;
  }
).constructor;

/**
 * tf.layers.batchNormalization with the fused training pass: saved and loaded as Keras' BatchNormalization (the same
 * class name and config), and tfjs's own computation wherever the fused one does not apply (inference, an axis other
 * than the last, no scale or centre, another backend).
 */
export class FastBatchNormalization extends BatchNormalizationLayer {
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as {
      axis: number;
      epsilon: number;
      momentum: number;
      center: boolean;
      scale: boolean;
      gamma: tf.LayerVariable;
      beta: tf.LayerVariable;
      movingMean: tf.LayerVariable;
      movingVariance: tf.LayerVariable;
    };
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    if (!kwargs.training || !lastAxis || !self.center || !self.scale || !fusedBatchNormAvailable(x))
      return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const [y, mean, variance] = batchNormInTraining(
        x,
        self.gamma.read() as tf.Tensor1D,
        self.beta.read() as tf.Tensor1D,
        self.epsilon,
      );
      // the moving averages as tfjs-layers updates them: moving - (moving - batch) * (1 - momentum)
      for (const [variable, value] of [
        [self.movingMean, mean],
        [self.movingVariance, variance],
      ] as const) {
        const moving = variable.read();
        variable.write(tf.sub(moving, tf.mul(tf.sub(moving, value), 1 - self.momentum)));
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}

/** A BatchNormalization layer (Keras' arguments) that trains through the fused pass where it can. */
export function batchNormalization(args: LayerArgs = {}): tf.layers.Layer {
  return new FastBatchNormalization(args);
}
