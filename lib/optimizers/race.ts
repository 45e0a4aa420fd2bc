/**
 * Several optimizers training the same small Keras-style model on the same data from the same
 * initial weights, with their loss curves recorded, so a notebook can compare them on one chart.
 */
import * as tf from "@tensorflow/tfjs";
import type { Figure } from "../display/index";
import { getLearningRate } from "./tf-annealer";

/** One optimizer in the race (factories, so each run starts fresh). */
export interface Contender {
  name: string;
  optimizer: () => tf.Optimizer;
  callbacks?: () => tf.Callback[];
}

export interface RaceData {
  x: tf.Tensor;
  y: tf.Tensor;
  xValid: tf.Tensor;
  yValid: tf.Tensor;
}

export interface RaceOptions {
  epochs: number;
  batchSize: number;
  /** Units of the hidden layer (default 64). */
  hidden?: number;
  /** Seed of the initial weights, the same for every contender (default 0). */
  seed?: number;
}

/** What one contender's training recorded. */
export interface RaceResult {
  name: string;
  batchLoss: number[];
  epochLoss: number[];
  validLoss: number[];
  validAccuracy: number[];
  /** The learning rate at the end of each epoch. */
  learningRate: number[];
  seconds: number;
}

/** Flatten -> Dense(hidden, relu) -> Dense(classes, softmax), seeded initial weights. */
export function raceModel(
  inputSize: number,
  classes: number,
  hidden: number,
  seed: number,
): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [inputSize],
      units: hidden,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: classes,
      activation: "softmax",
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    }),
  );
  return model;
}

/** Trains one fresh model per contender with `model.fit` (no shuffling, so every one sees the same batches). */
export async function race(
  contenders: Contender[],
  data: RaceData,
  options: RaceOptions,
): Promise<RaceResult[]> {
  const { epochs, batchSize } = options;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new Error(`epochs must be a whole number >= 1, not ${epochs}.`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a whole number >= 1, not ${batchSize}.`);
  const inputSize = data.x.shape[1];
  const classes = data.y.shape[1];
  if (data.x.rank !== 2 || data.y.rank !== 2 || inputSize === undefined || classes === undefined)
    throw new Error(
      `race expects x [examples, features] and one-hot y [examples, classes]; got x ${JSON.stringify(data.x.shape)}, y ${JSON.stringify(data.y.shape)}.`,
    );
  const results: RaceResult[] = [];
  for (const contender of contenders) {
    const optimizer = contender.optimizer();
    const model = raceModel(inputSize, classes, options.hidden ?? 64, options.seed ?? 0);
    model.compile({ optimizer, loss: "categoricalCrossentropy", metrics: ["accuracy"] });
    const result: RaceResult = {
      name: contender.name,
      batchLoss: [],
      epochLoss: [],
      validLoss: [],
      validAccuracy: [],
      learningRate: [],
      seconds: 0,
    };
    const recorder = new tf.CustomCallback({
      onBatchEnd: async (_batch, logs) => void result.batchLoss.push(logs?.loss as number),
      onEpochEnd: async (_epoch, logs) => {
        result.epochLoss.push(logs?.loss as number);
        result.validLoss.push(logs?.val_loss as number);
        result.validAccuracy.push((logs?.val_acc ?? logs?.val_accuracy) as number);
        result.learningRate.push(getLearningRate(optimizer));
      },
    });
    const start = Date.now();
    // the contender's callbacks first, so the learning rate recorded is the one for the next epoch
    await model.fit(data.x, data.y, {
      epochs,
      batchSize,
      shuffle: false,
      verbose: 0,
      validationData: [data.xValid, data.yValid],
      callbacks: [...(contender.callbacks?.() ?? []), recorder],
    });
    result.seconds = (Date.now() - start) / 1000;
    results.push(result);
    model.dispose();
    optimizer.dispose();
  }
  return results;
}

/** Exponential moving average, bias-corrected (so early points are not pulled towards 0). */
export function smooth(values: number[], beta = 0.9): number[] {
  let avg = 0;
  return values.map((v, i) => {
    avg = beta * avg + (1 - beta) * v;
    return avg / (1 - beta ** (i + 1));
  });
}

/** Every contender's training loss per batch (smoothed) on one chart, log scale, plus validation loss per epoch as markers. */
export function raceFigure(
  results: RaceResult[],
  title = "training loss per batch (smoothed) and validation loss per epoch",
): Figure {
  const data: Array<Record<string, unknown>> = [];
  const colors = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
  ];
  results.forEach((r, k) => {
    const color = colors[k % colors.length];
    const perEpoch = r.batchLoss.length / r.epochLoss.length;
    data.push({
      x: r.batchLoss.map((_, i) => (i + 1) / perEpoch),
      y: smooth(r.batchLoss),
      type: "scatter",
      mode: "lines",
      name: r.name,
      line: { color },
      legendgroup: r.name,
    });
    data.push({
      x: r.validLoss.map((_, i) => i + 1),
      y: r.validLoss,
      type: "scatter",
      mode: "markers",
      name: `${r.name} (validation)`,
      marker: { color, symbol: "diamond", size: 8 },
      legendgroup: r.name,
      showlegend: false,
    });
  });
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: "epoch" } },
      yaxis: { title: { text: "cross-entropy loss" }, type: "log" },
      height: 480,
    },
  };
}
