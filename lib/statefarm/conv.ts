/**
 * A Conv2D layer (valid padding, stride 1) whose gradients are computed without the backprop kernels:
 * the wasm backend has no Conv2DBackpropFilter kernel (the cpu fallback made the lesson's small CNN
 * train at ~0.1-0.4 s per image) and its Conv2DBackpropInput is slower than its (XNNPACK) Conv2D; the
 * filter gradient is one matrix product (lib/engine/conv-filter-gradient.ts), the input gradient a conv2d, or for
 * an image's few channels a matrix product and a scatter (lib/engine/conv-input-gradient.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { conv2dFilterGradient } from "../engine/conv-filter-gradient";
import { conv2dInputGradient } from "../engine/conv-input-gradient";
import { reluGradient } from "../engine/relu-grad";

/**
 * The input and filter gradients of conv2d(x, w) (valid, stride 1) from dy, by lib/engine's routes: the filter's
 * one matrix product on wasm; the input's padded convolution, or for an image's few channels a product and a scatter.
 */
function convGradients(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  dy: tf.Tensor4D,
): [tf.Tensor4D, tf.Tensor4D] {
  const [kh, kw] = w.shape;
  return [conv2dInputGradient(dy, w), conv2dFilterGradient(x, dy, kh, kw)];
}

/** conv2d(x, w) (valid, stride 1) with its gradients from convGradients. */
export function conv2dMatmulGrad(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const f = tf.customGrad(((xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const xx = xIn as tf.Tensor4D,
      ww = wIn as tf.Tensor4D;
    save([xx, ww]);
    return {
      value: tf.conv2d(xx, ww, 1, "valid"),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return convGradients(xs, ws, dy as tf.Tensor4D);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

/**
 * conv2d(x, w) + b, then ReLU when asked: one convolution with the bias and the ReLU applied as it
 * writes its output (tfjs's FusedConv2D kernel), where three kernels would each pass over the
 * output again. (tf.fused.conv2d itself runs the three whenever a gradient is being recorded.)
 * The gradient: ReLU's (dy where the output is positive), the bias's (that summed over pixels),
 * then convGradients of it.
 */
export function conv2dBiasActivation(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  activation: "relu" | "linear",
): tf.Tensor4D {
  const fused = (xx: tf.Tensor4D, ww: tf.Tensor4D, bb: tf.Tensor): tf.Tensor4D => {
    if (!tf.getKernel(tf.FusedConv2D, tf.getBackend())) {
      const y = tf.conv2d(xx, ww, 1, "valid").add(bb) as tf.Tensor4D;
      return activation === "relu" ? tf.relu(y) : y;
    }
    const attrs = { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: 1, activation };
    const inputs = { x: xx, filter: ww, bias: bb };
    return tf.engine().runKernel(tf.FusedConv2D, inputs, attrs) as tf.Tensor4D;
  };
  const f = tf.customGrad(((
    xIn: tf.Tensor,
    wIn: tf.Tensor,
    bIn: tf.Tensor,
    save: tf.GradSaveFunc,
  ) => {
    const [xx, ww] = [xIn as tf.Tensor4D, wIn as tf.Tensor4D];
    const y = fused(xx, ww, bIn);
    save([xx, ww, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws, ys] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const g = (activation === "relu" ? reluGradient(dy, ys) : dy) as tf.Tensor4D;
        return [...convGradients(xs, ws, g), g.sum([0, 1, 2])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w, b) as tf.Tensor4D;
}

export interface MatmulConvArgs {
  filters: number;
  kernelSize: number;
  activation?: "relu" | "linear";
  inputShape?: number[];
  name?: string;
  /** Kernel initialiser (default Glorot uniform, unseeded, as in Keras). */
  kernelInitializer?: ReturnType<typeof tf.initializers.glorotUniform>;
}

/** Keras' Conv2D (valid padding, stride 1, optional ReLU) trained through conv2dBiasActivation. */
export class MatmulConv2D extends tf.layers.Layer {
  static className = "MatmulConv2D";
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;
  constructor(private readonly args: MatmulConvArgs) {
    super({ name: args.name, inputShape: args.inputShape });
  }
  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as number[];
    const k = this.args.kernelSize;
    this.kernel = this.addWeight(
      "kernel",
      [k, k, shape[3], this.args.filters],
      "float32",
      this.args.kernelInitializer ?? tf.initializers.glorotUniform({}),
    );
    this.bias = this.addWeight("bias", [this.args.filters], "float32", tf.initializers.zeros());
    this.built = true;
  }
  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Array<number | null>;
    const k = this.args.kernelSize;
    return [s[0], s[1]! - k + 1, s[2]! - k + 1, this.args.filters];
  }
  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const w = this.kernel.read() as tf.Tensor4D;
      const b = this.bias.read() as tf.Tensor1D;
      return conv2dBiasActivation(x, w, b, this.args.activation ?? "linear");
    });
  }
  getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.args.filters,
      kernelSize: this.args.kernelSize,
      activation: this.args.activation ?? "linear",
    };
  }
}
tf.serialization.registerClass(MatmulConv2D);
