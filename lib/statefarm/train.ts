/**
 * Training and scoring helpers for the State Farm notebooks: images to tensors, Keras-style
 * compile/fit with a progress display and optional augmentation, log loss, accuracy and a
 * confusion matrix computed the same way for every model; and training, prediction and scoring
 * on features streamed from disk, so the real set's size needs no more memory than a small one.
 */
import * as tf from "@tensorflow/tfjs";
import { loadImages, oneHot } from "../vision/images";
import type { ImageDataGenerator } from "../vision/augment";
import { trainingProgress } from "../display/progress";
import type { LabelledImage } from "./reader";
import { nextSeed } from "../engine/seeded";
import { Rng } from "../random";
import { createAdam } from "../engine/fused-adam";
import { ensureBackend } from "../engine/backend";
import type { RowSource } from "../vision/feature-store";

/** Inputs, one-hot targets and class indices of one split held in memory. */
export interface LabelledSet {
  x: tf.Tensor;
  y: tf.Tensor2D;
  labels: number[];
}

/** Loads labelled photos as [n, height, width, 3] pixels (0-255) and one-hot labels. */
export async function loadLabelledImages(
  items: LabelledImage[],
  size: { width: number; height: number },
): Promise<LabelledSet> {
  await ensureBackend({ threads: "all" }); // a script that never called initBackend gets wasm, not cpu
  const x = await loadImages(
    items.map((it) => it.path),
    size,
  );
  return { x, y: oneHot(items.map((it) => it.label)), labels: items.map((it) => it.label) };
}

/** Frees a set's tensors. */
export function disposeSet(set: LabelledSet): void {
  set.x.dispose();
  set.y.dispose();
}

/** Compiles for classification (Adam, categorical cross-entropy, accuracy) like Keras' compile. */
export function compileClassifier(model: tf.LayersModel, learningRate = 1e-3): tf.LayersModel {
  model.compile({
    optimizer: createAdam(learningRate),
    loss: "categoricalCrossentropy",
    metrics: ["accuracy"],
  });
  // The model owns the Adam made for it here, so model.dispose() frees its state too (tfjs-layers
  // frees only optimizers it made from a name, like Keras' "adam"; else every model leaks).
  (model as unknown as { isOptimizerOwned: boolean }).isOptimizerOwned = true;
  return model;
}

/** Changes the learning rate of a compiled model (Keras: model.optimizer.lr = ...). */
export function setLearningRate(model: tf.LayersModel, learningRate: number): void {
  const optimizer = model.optimizer as unknown as { learningRate: number };
  if (!optimizer || typeof optimizer.learningRate !== "number")
    throw new Error("setLearningRate: compile the model first (compileClassifier).");
  optimizer.learningRate = learningRate;
}

/** One epoch's scores. */
export interface EpochScores {
  loss: number;
  acc: number;
  valLoss: number;
  valAcc: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  /** Set this learning rate before training (the model must be compiled). */
  learningRate?: number;
  /** Augment the training inputs afresh each epoch. */
  augment?: ImageDataGenerator;
  /** Title of the progress display; `false` for no display. */
  title?: string | false;
  /** Seed of the per-epoch shuffle; without it the next seed of `seedTraining`'s stream is used. */
  seed?: number;
}

/** The progress bar a training call shows, or null with `title: false`. */
function progressFor(options: Pick<TrainOptions, "epochs" | "title">, batchesPerEpoch: number) {
  if (options.title === false) return null;
  return trainingProgress({ epochs: options.epochs, batchesPerEpoch, title: options.title });
}

/**
 * Fits `model` on `train`, scoring `valid` after each epoch; returns the scores per epoch. The
 * training rows are shuffled here each epoch with a seeded Rng (tfjs' own shuffle uses Math.random).
 */
export async function trainClassifier(
  model: tf.LayersModel,
  train: LabelledSet,
  valid: LabelledSet,
  options: TrainOptions,
): Promise<EpochScores[]> {
  await ensureBackend({ threads: "all" });
  if (options.learningRate !== undefined) setLearningRate(model, options.learningRate);
  const batchSize = options.batchSize ?? 64;
  const n = train.x.shape[0];
  const progress = progressFor(options, Math.ceil(n / batchSize));
  const history: EpochScores[] = [];
  const order = new Rng(`shuffle/${nextSeed(options.seed)}`);
  const rowsIndex = Array.from({ length: n }, (_, i) => i);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const augmented = options.augment
      ? augmentInBatches(options.augment, train.x as tf.Tensor4D, batchSize)
      : train.x;
    const perm = tf.tensor1d(order.shuffle(rowsIndex), "int32");
    const x = tf.gather(augmented, perm),
      y = tf.gather(train.y, perm);
    perm.dispose();
    if (augmented !== train.x) augmented.dispose();
    try {
      const h = await model.fit(x, y, {
        epochs: epoch + 1,
        initialEpoch: epoch,
        batchSize,
        shuffle: false,
        validationData: [valid.x, valid.y],
        verbose: 0,
        callbacks: progress ? progress.callbacks() : undefined,
      });
      const last = (k: string) => Number((h.history[k] as number[]).at(-1));
      history.push({
        loss: last("loss"),
        acc: last("acc"),
        valLoss: last("val_loss"),
        valAcc: last("val_acc"),
      });
    } finally {
      tf.dispose([x, y]);
    }
  }
  return history;
}

function augmentInBatches(gen: ImageDataGenerator, x: tf.Tensor4D, batchSize: number): tf.Tensor4D {
  const parts: tf.Tensor4D[] = [];
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    parts.push(tf.tidy(() => gen.random(x.slice(start, Math.min(batchSize, x.shape[0] - start)))));
  }
  const out = tf.concat(parts);
  parts.forEach((p) => p.dispose());
  return out;
}

/** Class probabilities [n, 10] for `x`, predicted in batches. */
export function predictProbs(model: tf.LayersModel, x: tf.Tensor, batchSize = 128): tf.Tensor2D {
  return tf.tidy(() => model.predict(x, { batchSize }) as tf.Tensor2D);
}

/** Rows of a [n, k] tensor as arrays. */
export async function rows(t: tf.Tensor2D): Promise<number[][]> {
  return (await t.array()) as number[][];
}

/**
 * Multi-class log loss (Kaggle's metric) of probabilities against class indices or target
 * distributions; each probability is clipped to [eps, 1 - eps] and rows renormalised, as Kaggle does.
 */
export function logLoss(probs: number[][], targets: number[] | number[][], eps = 1e-15): number {
  if (probs.length !== targets.length)
    throw new Error(`logLoss: ${probs.length} predictions for ${targets.length} targets`);
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    const clipped = probs[i].map((p) => Math.min(1 - eps, Math.max(eps, p)));
    const sum = clipped.reduce((a, b) => a + b, 0);
    const t = targets[i];
    if (typeof t === "number") total -= Math.log(clipped[t] / sum);
    else
      for (let k = 0; k < t.length; k++) if (t[k] > 0) total -= t[k] * Math.log(clipped[k] / sum);
  }
  return total / probs.length;
}

/** Index of the largest value in each row. */
export function argmaxRows(probs: number[][]): number[] {
  return probs.map((row) => row.reduce((best, v, k) => (v > row[best] ? k : best), 0));
}

/** Share of rows whose largest probability is at the true class. */
export function accuracy(probs: number[][], labels: number[]): number {
  const predicted = argmaxRows(probs);
  return predicted.filter((p, i) => p === labels[i]).length / labels.length;
}

/** Validation log loss and accuracy of `model` on `set`, computed from its predictions. */
export async function evaluate(
  model: tf.LayersModel,
  set: LabelledSet,
): Promise<{ loss: number; accuracy: number; probs: number[][] }> {
  const p = predictProbs(model, set.x);
  const probs = await rows(p);
  p.dispose();
  return { loss: logLoss(probs, set.labels), accuracy: accuracy(probs, set.labels), probs };
}

/** counts[true][predicted] over `k` classes. */
export function confusionMatrix(labels: number[], predicted: number[], k = 10): number[][] {
  if (labels.length !== predicted.length)
    throw new Error(`confusionMatrix: ${labels.length} labels for ${predicted.length} predictions`);
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  labels.forEach((t, i) => m[t][predicted[i]]++);
  return m;
}

/** How many predictions fall in each class (step 4: an overshooting model puts nearly all in one or two). */
export function predictedClassCounts(probs: number[][], k = 10): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const p of argmaxRows(probs)) counts[p]++;
  return counts;
}

/**
 * Step 6: scores on `repeats` random halves of the validation set; a small spread means the
 * validation set is big enough to tell models apart.
 */
export function validationSpread(
  probs: number[][],
  labels: number[],
  repeats = 10,
  seedRng: () => number = Math.random,
): Array<{ loss: number; accuracy: number }> {
  const n = labels.length,
    half = Math.max(1, Math.floor(n / 2));
  const out: Array<{ loss: number; accuracy: number }> = [];
  for (let r = 0; r < repeats; r++) {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(seedRng() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const pick = idx.slice(0, half);
    const p = pick.map((i) => probs[i]),
      l = pick.map((i) => labels[i]);
    out.push({ loss: logLoss(p, l), accuracy: accuracy(p, l) });
  }
  return out;
}

/**
 * Rows streamed from disk (a FeatureStore) with a target per row: class indices, or target
 * distributions (pseudo-labels). A training set is a list of parts, read as one.
 */
export interface StreamedPart {
  x: RowSource;
  y: number[] | number[][];
}

/** Training rows of all parts together. */
export function streamedRows(parts: StreamedPart[]): number {
  return parts.reduce((n, p) => n + p.x.rows, 0);
}

function checkParts(parts: StreamedPart[], what: string): void {
  if (parts.length === 0) throw new Error(`${what}: no rows to train on (an empty list of parts)`);
  const shape = JSON.stringify(parts[0].x.rowShape);
  parts.forEach((p, i) => {
    if (p.y.length !== p.x.rows)
      throw new Error(`${what}: part ${i} has ${p.x.rows} rows but ${p.y.length} targets`);
    if (JSON.stringify(p.x.rowShape) !== shape)
      throw new Error(
        `${what}: part ${i}'s rows are ${JSON.stringify(p.x.rowShape)}, not ${shape}`,
      );
  });
}

/**
 * The rows at global indices `rows` (part 0's rows first, then part 1's, ...) as a batch: inputs
 * read from disk and one-hot or distribution targets over `classes`.
 */
export function streamedBatch(
  parts: StreamedPart[],
  rows: number[],
  classes = 10,
): { xs: tf.Tensor; ys: tf.Tensor2D } {
  const rowSize = parts[0].x.rowShape.reduce((a, b) => a * b, 1);
  const xs = new Float32Array(rows.length * rowSize);
  const ys = new Float32Array(rows.length * classes);
  let first = 0;
  for (const part of parts) {
    const at: number[] = [];
    const local: number[] = [];
    rows.forEach((r, k) => {
      if (r >= first && r < first + part.x.rows) {
        at.push(k);
        local.push(r - first);
      }
    });
    if (local.length) {
      const values = part.x.readRows(local);
      at.forEach((k, j) => {
        xs.set(values.subarray(j * rowSize, (j + 1) * rowSize), k * rowSize);
        const t = part.y[local[j]];
        if (typeof t === "number") ys[k * classes + t] = 1;
        else ys.set(t, k * classes);
      });
    }
    first += part.x.rows;
  }
  return {
    xs: tf.tensor(xs, [rows.length, ...parts[0].x.rowShape]),
    ys: tf.tensor2d(ys, [rows.length, classes]),
  };
}

/** A dataset of batches of `parts`, in a new order from `order` each pass (in order without). */
function streamedDataset(parts: StreamedPart[], batchSize: number, order?: Rng) {
  const all = Array.from({ length: streamedRows(parts) }, (_, i) => i);
  return tf.data.generator(() => {
    let rows: number[] | undefined; // drawn at the first batch: fitDataset makes an unused iterator
    let start = 0;
    return {
      next: async () => {
        rows ??= order ? order.shuffle(all) : all;
        if (start >= rows.length) return { done: true, value: null };
        const batch = streamedBatch(parts, rows.slice(start, start + batchSize));
        start += batchSize;
        return { done: false, value: batch };
      },
    } as unknown as Iterator<{ xs: tf.Tensor; ys: tf.Tensor2D }>;
  });
}

/**
 * `trainClassifier` for rows streamed from disk: one batch in memory at a time, whatever the
 * number of rows. The same seeded shuffle per epoch, so on the same rows it trains as
 * trainClassifier does; validation is scored each epoch from `valid`, also streamed.
 */
export async function trainStreamed(
  model: tf.LayersModel,
  train: StreamedPart[],
  valid: { x: RowSource; labels: number[] },
  options: Omit<TrainOptions, "augment">,
): Promise<EpochScores[]> {
  await ensureBackend({ threads: "all" });
  checkParts(train, "trainStreamed");
  if (options.learningRate !== undefined) setLearningRate(model, options.learningRate);
  const batchSize = options.batchSize ?? 64;
  const n = streamedRows(train);
  const progress = progressFor(options, Math.ceil(n / batchSize));
  const order = new Rng(`shuffle/${nextSeed(options.seed)}`);
  const validation = streamedDataset([{ x: valid.x, y: valid.labels }], 128);
  const h = await model.fitDataset(streamedDataset(train, batchSize, order), {
    epochs: options.epochs,
    validationData: validation,
    verbose: 0,
    callbacks: progress ? progress.callbacks() : undefined,
  });
  const series = (k: string) => (h.history[k] ?? []) as number[];
  return series("loss").map((loss, e) => ({
    loss: Number(loss),
    acc: Number(series("acc")[e]),
    valLoss: Number(series("val_loss")[e]),
    valAcc: Number(series("val_acc")[e]),
  }));
}

/** Class probabilities of `x`'s rows in order, a batch at a time (one batch in memory). */
export async function* predictBatches(
  model: tf.LayersModel,
  x: RowSource,
  batchSize = 128,
): AsyncGenerator<number[][]> {
  for (let start = 0; start < x.rows; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, x.rows - start) }, (_, k) => start + k);
    const input = tf.tensor(x.readRows(idx), [idx.length, ...x.rowShape]);
    const p = tf.tidy(() => model.predict(input) as tf.Tensor2D);
    input.dispose();
    try {
      yield await rows(p);
    } finally {
      p.dispose();
    }
  }
}

/** Class probabilities [rows, 10] of every row of `x`, predicted in batches. */
export async function predictStreamed(
  model: tf.LayersModel,
  x: RowSource,
  batchSize = 128,
): Promise<number[][]> {
  const out: number[][] = [];
  for await (const probs of predictBatches(model, x, batchSize)) out.push(...probs);
  return out;
}

/** `evaluate` for streamed rows: validation log loss, accuracy and probabilities. */
export async function evaluateStreamed(
  model: tf.LayersModel,
  set: { x: RowSource; labels: number[] },
): Promise<{ loss: number; accuracy: number; probs: number[][] }> {
  const probs = await predictStreamed(model, set.x);
  return { loss: logLoss(probs, set.labels), accuracy: accuracy(probs, set.labels), probs };
}
