/**
 * Inference for a chain of convolutions with each one's batch norm folded into its weights and bias, and its ReLU or
 * ReLU6 fused into the convolution kernel: one kernel per block where the Keras model runs four (conv, batch norm,
 * relu, minimum), for MobileNet's features. Same function as model.predict up to float32 rounding.
 */
import * as tf from "@tensorflow/tfjs";

type Activation = "linear" | "relu" | "relu6";

interface FoldedConv {
  depthwise: boolean;
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  strides: [number, number];
  pad: "same" | "valid";
  dilations: [number, number];
  activation: Activation;
}

/** A model's forward pass as folded convolutions; dispose() frees the folded weights. */
export interface FoldedInference {
  run(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
  /** How many Keras layers became how many kernels, e.g. "79 layers as 26 fused convolutions". */
  describe: string;
}

type LayerConfig = Record<string, unknown>;
const config = (layer: tf.layers.Layer) => layer.getConfig() as LayerConfig;

/** The activation a layer applies on its own (an Activation or ReLU layer), or null when it is something else. */
function activationOf(layer: tf.layers.Layer | undefined): Activation | null {
  if (!layer) return null;
  const c = config(layer);
  const name = layer.getClassName();
  if (
    name === "Activation" &&
    (c.activation === "relu" || c.activation === "relu6" || c.activation === "linear")
  )
    return c.activation as Activation;
  if (name === "ReLU" && !c.negativeSlope && !c.threshold)
    return c.maxValue === 6 ? "relu6" : c.maxValue == null ? "relu" : null;
  return null;
}

/** The layers in order when each one's only input is the previous one's output (a plain chain); null otherwise. */
function chain(model: tf.LayersModel): tf.layers.Layer[] | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  const layers = model.layers;
  for (let i = 1; i < layers.length; i++) {
    const inbound = layers[i].inboundNodes;
    if (
      inbound.length !== 1 ||
      inbound[0].inboundLayers.length !== 1 ||
      inbound[0].inboundLayers[0] !== layers[i - 1]
    )
      return null;
  }
  return layers[layers.length - 1].output === model.outputs[0] ? layers : null;
}

/**
 * Folds `model` when it is a chain of InputLayer, Conv2D / DepthwiseConv2D (channels last), BatchNormalization over
 * the channels, and linear / ReLU / ReLU6 activations; null for any other model (use model.predict).
 */
export function foldedInference(model: tf.LayersModel): FoldedInference | null {
  const layers = chain(model);
  if (!layers) return null;
  const steps: FoldedConv[] = [];
  const made: tf.Tensor[] = [];
  const fail = () => (tf.dispose(made), null);
  let i = layers[0].getClassName() === "InputLayer" ? 1 : 0;
  while (i < layers.length) {
    const layer = layers[i];
    const name = layer.getClassName();
    if (name !== "Conv2D" && name !== "DepthwiseConv2D") return fail();
    const c = config(layer);
    if (c.dataFormat !== "channelsLast" || (c.padding !== "same" && c.padding !== "valid"))
      return fail();
    const own =
      c.activation === "linear"
        ? "linear"
        : c.activation === "relu" || c.activation === "relu6"
          ? (c.activation as Activation)
          : null;
    if (!own) return fail();
    const weights = layer.getWeights();
    const kernel = weights[0] as tf.Tensor4D;
    const channels = name === "Conv2D" ? kernel.shape[3] : kernel.shape[2] * kernel.shape[3];
    const ownBias = c.useBias ? (weights[1] as tf.Tensor1D) : null;
    let scale: tf.Tensor1D | null = null;
    let bias: tf.Tensor1D | null = null;
    let next = i + 1;
    const bn = layers[next];
    if (own === "linear" && bn?.getClassName() === "BatchNormalization") {
      const b = config(bn);
      const w = bn.getWeights();
      if (!(b.axis === -1 || b.axis === 3) || !w.length) return fail();
      let k = 0;
      const gamma = b.scale ? w[k++] : null;
      const beta = b.center ? w[k++] : null;
      const [mean, variance] = [w[k], w[k + 1]];
      // y = (conv + bias - mean) * gamma / sqrt(var + eps) + beta = conv * s + ((bias - mean) * s + beta)
      const s = tf.tidy(() => {
        const inv = tf.rsqrt(tf.add(variance, b.epsilon as number));
        return (gamma ? tf.mul(gamma, inv) : inv) as tf.Tensor1D;
      });
      scale = s;
      bias = tf.tidy(() => {
        const moved = tf.mul(ownBias ? tf.sub(ownBias, mean) : tf.neg(mean), s);
        return (beta ? tf.add(moved, beta) : moved) as tf.Tensor1D;
      });
      next++;
    }
    bias ??= ownBias ? ownBias.clone() : tf.zeros([channels]);
    const after = own === "linear" ? activationOf(layers[next]) : null;
    if (after) next++;
    const filter = tf.tidy(
      () =>
        (scale
          ? tf.mul(
              kernel,
              name === "Conv2D" ? scale : scale.reshape([1, 1, kernel.shape[2], kernel.shape[3]]),
            )
          : kernel.clone()) as tf.Tensor4D,
    );
    scale?.dispose();
    made.push(tf.keep(filter), tf.keep(bias)); // kept past any tidy the folding runs in (extractFeatures folds on first use)
    const pair = (v: unknown) =>
      (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v]) as [number, number];
    steps.push({
      depthwise: name === "DepthwiseConv2D",
      filter,
      bias,
      strides: pair(c.strides),
      pad: c.padding as "same" | "valid",
      dilations: pair(c.dilationRate ?? 1),
      activation: after ?? own,
    });
    i = next;
  }
  return {
    run: (x) =>
      tf.tidy(() =>
        steps.reduce<tf.Tensor4D>((y, s) => {
          const args = {
            x: y,
            filter: s.filter,
            strides: s.strides,
            pad: s.pad,
            dataFormat: "NHWC" as const,
            dilations: s.dilations,
            bias: s.bias,
            activation: s.activation,
          };
          return s.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
        }, x),
      ),
    dispose: () => tf.dispose(made),
    describe: `${layers.length} layers as ${steps.length} fused convolutions`,
  };
}
