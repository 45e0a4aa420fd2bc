/** The lesson's State Farm models as Keras-style tfjs layer stacks, so notebooks build them in one call. */
import * as tf from "@tensorflow/tfjs";
import { MatmulConv2D } from "./conv";

/** [height, width, channels] of the input images. */
export type ImageShape = [number, number, number];

const NUM_CLASSES = 10;
/** BatchNorm's running statistics move 10% per step (Keras: 1%), so they settle within the few hundred steps a small sample gives. */
const bn = (args: { inputShape?: number[] } = {}) => tf.layers.batchNormalization({ ...args, axis: -1, momentum: 0.9 });

/** Step 2: BatchNorm on the input (it normalises the pixels), Flatten, one Dense softmax. */
export function linearModel(inputShape: ImageShape, options: { l2?: number } = {}): tf.Sequential {
  return tf.sequential({
    name: "linear",
    layers: [
      bn({ inputShape }),
      tf.layers.flatten(),
      tf.layers.dense({ units: NUM_CLASSES, activation: "softmax", kernelRegularizer: options.l2 ? tf.regularizers.l2({ l2: options.l2 }) : undefined }),
    ],
  });
}

/** Step 6: the linear model with one hidden layer (100 units, ReLU) in between. */
export function hiddenLayerModel(inputShape: ImageShape, options: { units?: number } = {}): tf.Sequential {
  return tf.sequential({
    name: "hidden",
    layers: [
      bn({ inputShape }),
      tf.layers.flatten(),
      tf.layers.dense({ units: options.units ?? 100, activation: "relu" }),
      bn(),
      tf.layers.dense({ units: NUM_CLASSES, activation: "softmax" }),
    ],
  });
}

/**
 * Step 7 (and 11 with `dropout`): two blocks of Conv(3x3, ReLU) + BatchNorm + MaxPool(3),
 * then Dense(200) + BatchNorm and the softmax, as in the lesson.
 */
export function convModel(inputShape: ImageShape, options: { filters?: [number, number]; dense?: number; dropout?: number } = {}): tf.Sequential {
  const [f1, f2] = options.filters ?? [32, 64];
  const p = options.dropout ?? 0;
  const layers: tf.layers.Layer[] = [
    bn({ inputShape }),
    new MatmulConv2D({ filters: f1, kernelSize: 3, activation: "relu" }),
    bn(),
    tf.layers.maxPooling2d({ poolSize: 3 }),
    new MatmulConv2D({ filters: f2, kernelSize: 3, activation: "relu" }),
    bn(),
    tf.layers.maxPooling2d({ poolSize: 3 }),
    tf.layers.flatten(),
  ];
  if (p) layers.push(tf.layers.dropout({ rate: p / 2 }));
  layers.push(tf.layers.dense({ units: options.dense ?? 200, activation: "relu" }), bn());
  if (p) layers.push(tf.layers.dropout({ rate: p }));
  layers.push(tf.layers.dense({ units: NUM_CLASSES, activation: "softmax" }));
  return tf.sequential({ name: p ? "conv_dropout" : "conv", layers });
}

/**
 * Step 12: the head trained on precomputed conv features: (MaxPool if the features are not
 * pooled yet), Flatten, then Dense+BatchNorm blocks with dropout `p` (the lesson: 0.8).
 */
export function featureHead(inputShape: number[], options: { p?: number; units?: number; pool?: boolean } = {}): tf.Sequential {
  const p = options.p ?? 0.8;
  const units = options.units ?? 128;
  const layers: tf.layers.Layer[] = [];
  if (options.pool) layers.push(tf.layers.maxPooling2d({ inputShape, poolSize: 2 }), tf.layers.flatten());
  else layers.push(tf.layers.flatten({ inputShape }));
  layers.push(
    bn(),
    tf.layers.dropout({ rate: p / 4 }),
    tf.layers.dense({ units, activation: "relu" }),
    bn(),
    tf.layers.dropout({ rate: p }),
    tf.layers.dense({ units, activation: "relu" }),
    bn(),
    tf.layers.dropout({ rate: p / 2 }),
    tf.layers.dense({ units: NUM_CLASSES, activation: "softmax" }),
  );
  return tf.sequential({ name: "feature_head", layers });
}

/** Each layer's parameter count, for explaining where a model's weights are (step 2). */
export function parameterCounts(model: tf.LayersModel): Array<{ layer: string; output: string; params: number }> {
  return model.layers.map((l) => ({ layer: l.name, output: JSON.stringify(l.outputShape), params: l.countParams() }));
}
