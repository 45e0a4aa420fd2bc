/** The lesson's State Farm models as Keras-style tfjs layer stacks, so notebooks build them in one call. */
import * as tf from "@tensorflow/tfjs";
import { MatmulConv2D } from "./conv";
import { LayerSeeds, SeededDropout, nextSeed } from "../engine/seeded";
import { batchNormalization } from "../engine/fused-batchnorm";

/** [height, width, channels] of the input images. */
export type ImageShape = [number, number, number];

const NUM_CLASSES = 10;
/**
 * BatchNorm's running statistics move 10% per step (Keras: 1%), so they settle within the few hundred steps a small
 * sample gives. Keras' BatchNormalization; on wasm its training pass is fused (lib/engine/fused-batchnorm.ts).
 */
const bn = (args: { inputShape?: number[] } = {}) =>
  batchNormalization({ ...args, axis: -1, momentum: 0.9 });

/** `seed` fixes the initial weights and dropout masks; without it the next seed of `seedTraining`'s stream is used. */
export interface SeedOption {
  seed?: number;
}

/** Step 2: BatchNorm on the input (it normalises the pixels), Flatten, one Dense softmax. */
export function linearModel(
  inputShape: ImageShape,
  options: { l2?: number } & SeedOption = {},
): tf.Sequential {
  const seeds = new LayerSeeds(nextSeed(options.seed));
  return tf.sequential({
    name: "linear",
    layers: [
      bn({ inputShape }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: NUM_CLASSES,
        activation: "softmax",
        kernelInitializer: seeds.glorot(),
        kernelRegularizer: options.l2 ? tf.regularizers.l2({ l2: options.l2 }) : undefined,
      }),
    ],
  });
}

/** Step 6: the linear model with one hidden layer (100 units, ReLU) in between. */
export function hiddenLayerModel(
  inputShape: ImageShape,
  options: { units?: number } & SeedOption = {},
): tf.Sequential {
  const seeds = new LayerSeeds(nextSeed(options.seed));
  return tf.sequential({
    name: "hidden",
    layers: [
      bn({ inputShape }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: options.units ?? 100,
        activation: "relu",
        kernelInitializer: seeds.glorot(),
      }),
      bn(),
      tf.layers.dense({
        units: NUM_CLASSES,
        activation: "softmax",
        kernelInitializer: seeds.glorot(),
      }),
    ],
  });
}

/**
 * Step 7 (and 11 with `dropout`): two blocks of Conv(3x3, ReLU) + BatchNorm + MaxPool(3),
 * then Dense(200) + BatchNorm and the softmax, as in the lesson.
 */
export function convModel(
  inputShape: ImageShape,
  options: { filters?: [number, number]; dense?: number; dropout?: number } & SeedOption = {},
): tf.Sequential {
  const seeds = new LayerSeeds(nextSeed(options.seed));
  const [f1, f2] = options.filters ?? [32, 64];
  const p = options.dropout ?? 0;
  const layers: tf.layers.Layer[] = [
    bn({ inputShape }),
    new MatmulConv2D({
      filters: f1,
      kernelSize: 3,
      activation: "relu",
      kernelInitializer: seeds.glorot(),
    }),
    bn(),
    tf.layers.maxPooling2d({ poolSize: 3 }),
    new MatmulConv2D({
      filters: f2,
      kernelSize: 3,
      activation: "relu",
      kernelInitializer: seeds.glorot(),
    }),
    bn(),
    tf.layers.maxPooling2d({ poolSize: 3 }),
    tf.layers.flatten(),
  ];
  if (p) layers.push(new SeededDropout({ rate: p / 2, seed: seeds.next() }));
  layers.push(
    tf.layers.dense({
      units: options.dense ?? 200,
      activation: "relu",
      kernelInitializer: seeds.glorot(),
    }),
    bn(),
  );
  if (p) layers.push(new SeededDropout({ rate: p, seed: seeds.next() }));
  layers.push(
    tf.layers.dense({
      units: NUM_CLASSES,
      activation: "softmax",
      kernelInitializer: seeds.glorot(),
    }),
  );
  return tf.sequential({ name: p ? "conv_dropout" : "conv", layers });
}

/**
 * Step 12: the head trained on precomputed conv features: (MaxPool if the features are not
 * pooled yet), Flatten, then Dense+BatchNorm blocks with dropout `p` (the lesson: 0.8).
 */
export function featureHead(
  inputShape: number[],
  options: { p?: number; units?: number; pool?: boolean } & SeedOption = {},
): tf.Sequential {
  const seeds = new LayerSeeds(nextSeed(options.seed));
  const dense = (units: number, activation: "relu" | "softmax") =>
    tf.layers.dense({ units, activation, kernelInitializer: seeds.glorot() });
  const dropout = (rate: number) => new SeededDropout({ rate, seed: seeds.next() });
  const p = options.p ?? 0.8;
  const units = options.units ?? 128;
  const layers: tf.layers.Layer[] = [];
  if (options.pool)
    layers.push(tf.layers.maxPooling2d({ inputShape, poolSize: 2 }), tf.layers.flatten());
  else layers.push(tf.layers.flatten({ inputShape }));
  layers.push(
    bn(),
    dropout(p / 4),
    dense(units, "relu"),
    bn(),
    dropout(p),
    dense(units, "relu"),
    bn(),
    dropout(p / 2),
    dense(NUM_CLASSES, "softmax"),
  );
  return tf.sequential({ name: "feature_head", layers });
}

/** Each layer's parameter count, for explaining where a model's weights are (step 2). */
export function parameterCounts(
  model: tf.LayersModel,
): Array<{ layer: string; output: string; params: number }> {
  return model.layers.map((l) => ({
    layer: l.name,
    output: JSON.stringify(l.outputShape),
    params: l.countParams(),
  }));
}
