/** fitCollab: trains a collaborative-filtering model on MovieLens-style ratings and wraps prediction and recommendation around MovieLens ids. */
import * as tf from "@tensorflow/tfjs";
import { IdIndex } from "../datasets/ratings-ids";
import { seededRandom, shuffledIndices } from "../datasets/ratings-random";
import { idColumns, rmse, type RatingsInput } from "./data";
import { buildCollabModel, LAYERS, type CollabKind } from "./model";
import { createAdam } from "../engine/fused-adam";
import { ensureBackend } from "../engine/backend";
import { KeyboardInterrupt } from "../engine/interrupt";

export interface ScheduleStep {
  lr: number;
  epochs: number;
}

/** The lesson's schedule: Adam at 1e-3 for 1 epoch, 1e-2 for 6, 1e-3 for 10. */
export const LESSON_SCHEDULE: ScheduleStep[] = [
  { lr: 1e-3, epochs: 1 },
  { lr: 1e-2, epochs: 6 },
  { lr: 1e-3, epochs: 10 },
];

/** The lesson's recipe, to pass explicitly: no centring, no clipping, no early stopping, uniform L2 1e-4 on factors only, batch 64. */
export const LESSON_RECIPE = {
  factors: 50,
  l2: 1e-4,
  biasL2: 0,
  batchSize: 64,
  schedule: LESSON_SCHEDULE,
  activityL2: 0,
  centre: false,
  clip: false,
  restoreBest: false,
  patience: Infinity,
  centredFactors: "none",
} as const;

export interface EpochRecord {
  epoch: number;
  lr: number;
  seconds: number;
  /** Training loss (MSE plus the L2 penalty), as model.fit reports it. */
  loss: number;
  /** Validation MSE and RMSE of the ratings (no penalty), when a validation set was given. */
  valMse?: number;
  valRmse?: number;
}

export interface CollabOptions {
  model?: CollabKind;
  factors?: number;
  schedule?: ScheduleStep[];
  batchSize?: number;
  /** L2 on the factor matrices. */
  l2?: number;
  /** Per-occurrence L2 on the looked-up factor vectors (Keras's activityRegularizer on the Embeddings); see ModelSpec. */
  activityL2?: number;
  /** Factor embeddings start uniform in ±initScale (default 0.05). */
  initScale?: number;
  /** L2 on the bias embeddings. */
  biasL2?: number;
  seed?: number;
  /** Ratings to report validation MSE/RMSE on after each epoch (and, by default, to keep the best epoch's weights). */
  validation?: RatingsInput;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /** Extra model.fit callbacks, e.g. trainingProgress(...).callbacks(). */
  callbacks?: tf.CustomCallbackArgs;
  /** Train on rating - mean and add the mean back (default true). */
  centre?: boolean;
  /** Clip predictions to the training ratings' range (default true). */
  clip?: boolean;
  /** With validation: restore the weights of the epoch with the lowest validation MSE (default true). */
  restoreBest?: boolean;
  /** With validation: stop after this many epochs without improvement (default 3). */
  patience?: number;
  /** nn only: dropout before and after the hidden layer (default the lesson's [0.3, 0.75]). */
  dropout?: [number, number];
  /** nn only: hidden units (default 70). */
  hidden?: number;
  /** Shrink the movie (or user and movie) factor vectors towards their common learned mean instead of zero; see ModelSpec. */
  centredFactors?: "none" | "movies" | "both";
  /**
   * Adam on the Embedding matrices updates only the rows the batch used (TensorFlow's LazyAdam, wasm only): faster
   * at small batches, but unused rows' weights and moments do not decay between their batches, which measurably
   * worsened validation RMSE with the lesson's recipe; default false (plain Adam).
   */
  lazyAdam?: boolean;
}

/**
 * The defaults; where they differ from LESSON_RECIPE they generalised better on a seeded 80/20 split of ml-latest-small
 * (centring, clipping, best-epoch weights, and batch 1024, which was also about 5x faster per epoch than 64 on wasm).
 */
export const DEFAULTS = {
  model: "bias" as CollabKind,
  factors: 50,
  l2: 1e-4,
  biasL2: 0,
  batchSize: 1024,
  centre: true,
  clip: true,
  restoreBest: true,
  patience: 3,
  lazyAdam: false,
  centredFactors: "none" as "none" | "movies" | "both",
};

/**
 * The dot model's defaults on top of DEFAULTS. It stays mean + user vector · movie vector (no bias terms), but with the
 * lesson's L2 towards zero it cannot give a rarely-rated movie any of the user's general offset (a near-zero movie vector
 * predicts the mean for everyone), which the damped bias baseline does. So the movie vectors are shrunk towards their
 * common learned mean vector instead (centredFactors "movies", a prior as in Bayesian PMF), by the lesson's uniform L2
 * 1e-4 plus a per-occurrence L2 0.05 (Keras's activityRegularizer), with Adam at a constant 3e-3 for up to 40 epochs
 * and early stopping. Chosen on 80/20 splits of the *training* part of notebook 07's seeded split (never its validation
 * part): validation RMSE 0.8625 vs the damped baseline's 0.8751 on one (tuning seed 7), 0.8565 vs 0.8673 on another
 * (seed 1); the previous defaults (L2 2e-5 and per-occurrence 0.05, both towards zero) gave 0.8883 on the first; a
 * sigmoid output range (fastai's y_range) did not help (0.8911).
 */
export const DOT_DEFAULTS = {
  l2: 1e-4,
  activityL2: 0.05,
  centredFactors: "movies" as const,
  schedule: [{ lr: 3e-3, epochs: 40 }] as ScheduleStep[],
};

export interface Recommendation {
  movieId: number;
  score: number;
}

/**
 * Predicted ratings, one per (user, movie) pair, and how many of them used the fallback for an id
 * the model has no row for (see CollabResult.predict). A Float32Array, as before.
 */
export type Predictions = Float32Array & { fallbacks: number };

export interface CollabResult {
  model: tf.LayersModel;
  history: EpochRecord[];
  users: IdIndex;
  movies: IdIndex;
  /** The value added to the model's output (the training mean when centred, else 0). */
  offset: number;
  /** Index of the epoch whose weights the model holds (the best one when restoreBest). */
  bestEpoch: number;
  /** The training ratings' mean (the fallback for a pair whose user and movie are both unknown). */
  mean: number;
  /**
   * Predicted ratings for MovieLens ids. An id with no row in the model (in neither the training
   * ratings nor `validation`) gets a fallback: for the bias model trained centred (the default),
   * the training mean plus the known movie's or user's learned bias; otherwise, or when both ids
   * are unknown, the training mean (clipped like the model's predictions). `fallbacks` on the
   * result counts the pairs that used it.
   */
  predict(userIds: ArrayLike<number>, movieIds: ArrayLike<number>): Predictions;
  /** The n highest-predicted movies the user did not rate in training; [] for an unknown user. */
  recommend(userId: number, n?: number): Recommendation[];
  /** Frees the model's weights and its optimizer's state (model.dispose() keeps the latter). */
  dispose(): void;
}

function indexTensors(
  users: Int32Array,
  movies: Int32Array,
  rows?: Int32Array,
): [tf.Tensor2D, tf.Tensor2D] {
  const pick = (a: Int32Array) => (rows ? Int32Array.from(rows, (i) => a[i]) : a);
  const u = pick(users);
  return [
    tf.tensor2d(u, [u.length, 1], "int32"),
    tf.tensor2d(pick(movies), [u.length, 1], "int32"),
  ];
}

/** Raw model outputs (plus offset, clipped) for index pairs, in chunks. */
function predictIndices(
  model: tf.LayersModel,
  users: Int32Array,
  movies: Int32Array,
  offset: number,
  range: [number, number] | null,
): Float32Array {
  const out = new Float32Array(users.length);
  const chunk = 16384;
  for (let start = 0; start < users.length; start += chunk) {
    const end = Math.min(users.length, start + chunk);
    // The tensor leaves the tidy, not its values: tidy walks a returned array element by element (~3 ms per 16k).
    const predicted = tf.tidy(() => {
      const u = tf.tensor2d(users.subarray(start, end), [end - start, 1], "int32");
      const m = tf.tensor2d(movies.subarray(start, end), [end - start, 1], "int32");
      return model.predict([u, m]) as tf.Tensor;
    });
    const values = predicted.dataSync() as Float32Array;
    predicted.dispose();
    for (let i = 0; i < values.length; i++) {
      const v = values[i] + offset;
      out[start + i] = range ? Math.min(range[1], Math.max(range[0], v)) : v;
    }
  }
  return out;
}

/**
 * Trains a dot / bias / nn model on ratings with MovieLens ids. Ids seen in `ratings` or `validation`
 * get an embedding row (validation-only ids are never trained, so they stay near 0 under L2).
 */
export async function fitCollab(
  ratings: RatingsInput,
  options: CollabOptions = {},
): Promise<CollabResult> {
  await ensureBackend(); // without initBackend, a script would train on tfjs's slow cpu backend
  const o = {
    ...DEFAULTS,
    schedule: LESSON_SCHEDULE,
    seed: 42,
    activityL2: 0,
    ...(options.model === "dot" ? DOT_DEFAULTS : {}),
    ...options,
  };
  const train = idColumns(ratings);
  const valid = options.validation ? idColumns(options.validation) : null;
  if (train.ratings.length === 0)
    throw new RangeError("fitCollab needs at least one training rating, and got none");
  const users = IdIndex.of(train.userIds, valid?.userIds);
  const movies = IdIndex.of(train.movieIds, valid?.movieIds);
  const tu = users.indices(train.userIds);
  const tm = movies.indices(train.movieIds);
  let sum = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of train.ratings) {
    sum += r;
    lo = Math.min(lo, r);
    hi = Math.max(hi, r);
  }
  const mean = sum / train.ratings.length;
  const offset = o.centre ? mean : 0;
  const range: [number, number] | null = o.clip ? [lo, hi] : null;
  const target = Float32Array.from(train.ratings, (r) => r - offset);

  const model = buildCollabModel({
    kind: o.model,
    nUsers: users.size,
    nMovies: movies.size,
    factors: o.factors,
    l2: o.l2,
    activityL2: o.activityL2,
    initScale: o.initScale,
    biasL2: o.biasL2,
    seed: o.seed,
    dropout: o.dropout,
    hidden: o.hidden,
    centredFactors: o.centredFactors,
  });
  const optimizer = createAdam(o.schedule[0]?.lr ?? 1e-3, { lazy: o.lazyAdam });
  model.compile({ optimizer, loss: "meanSquaredError" });

  const vu = valid ? users.indices(valid.userIds) : null;
  const vm = valid ? movies.indices(valid.movieIds) : null;
  const history: EpochRecord[] = [];
  const random = seededRandom(o.seed);
  let best = { mse: Infinity, epoch: -1, weights: null as tf.Tensor[] | null };
  let sinceBest = 0;
  let epoch = 0;
  const totalEpochs = o.schedule.reduce((s, step) => s + step.epochs, 0);

  training: for (const step of o.schedule) {
    (optimizer as unknown as { learningRate: number }).learningRate = step.lr;
    for (let e = 0; e < step.epochs; e++) {
      const order = shuffledIndices(target.length, random);
      // One model.fit per chunk of the epoch (one chunk up to 4M ratings); see fitChunkRows.
      const chunk = fitChunkRows(o.batchSize);
      let seconds = 0;
      const losses: number[] = [];
      for (let start = 0; start < order.length; start += chunk) {
        const rows = order.subarray(start, Math.min(order.length, start + chunk));
        const [xu, xm] = indexTensors(tu, tm, rows);
        const y = tf.tensor2d(
          Float32Array.from(rows, (i) => target[i]),
          [rows.length, 1],
        );
        const started = Date.now();
        let h: tf.History;
        try {
          h = await model.fit([xu, xm], y, {
            batchSize: o.batchSize,
            epochs: epoch + 1,
            initialEpoch: epoch,
            shuffle: false,
            verbose: 0,
            callbacks: options.callbacks,
          });
        } catch (error) {
          // Nothing is returned, so nothing made here may outlive the call.
          tf.dispose([xu, xm, y]);
          best.weights?.forEach((w) => w.dispose());
          model.dispose();
          optimizer.dispose();
          // model.fit sees one epoch per call; the learner wants fitCollab's count.
          if ((error as Error).name !== "KeyboardInterrupt") throw error;
          throw new KeyboardInterrupt(
            `fitCollab stopped by the interrupt in epoch ${epoch + 1} of ${totalEpochs}; nothing was returned, and its tensors are freed`,
          );
        }
        seconds += (Date.now() - started) / 1000;
        tf.dispose([xu, xm, y]);
        losses.push(Number(h.history.loss[0]));
      }
      // model.fit's loss is the mean over the chunk's rows: weight each by them for the epoch's.
      const loss =
        losses.length === 1
          ? losses[0]
          : losses.reduce((sum, l, k) => sum + l * Math.min(chunk, order.length - k * chunk), 0) /
            order.length;
      const record: EpochRecord = { epoch, lr: step.lr, seconds, loss };
      if (vu && vm && valid) {
        const predicted = predictIndices(model, vu, vm, offset, range);
        record.valRmse = rmse(predicted, valid.ratings);
        record.valMse = record.valRmse ** 2;
        if (record.valMse < best.mse) {
          if (o.restoreBest) {
            best.weights?.forEach((w) => w.dispose());
            best = { mse: record.valMse, epoch, weights: model.getWeights().map((w) => w.clone()) };
          } else best = { mse: record.valMse, epoch, weights: null };
          sinceBest = 0;
        } else sinceBest++;
      }
      history.push(record);
      await options.onEpoch?.(record);
      epoch++;
      if (valid && sinceBest >= o.patience && epoch < totalEpochs) break training;
    }
  }
  let bestEpoch = epoch - 1;
  if (o.restoreBest && best.weights) {
    model.setWeights(best.weights);
    best.weights.forEach((w) => w.dispose());
    bestEpoch = best.epoch;
  }

  const seen = ratedBy(tu, tm, users.size);

  // The learned biases are on the mean's scale only when the bias model was trained centred.
  const fallback = collabFallback(model, o.model === "bias" && o.centre, mean, range);
  const predict = (userIds: ArrayLike<number>, movieIds: ArrayLike<number>): Predictions => {
    if (userIds.length !== movieIds.length)
      throw new RangeError(
        `predict needs as many user ids (${userIds.length}) as movie ids (${movieIds.length})`,
      );
    const ui = users.indices(userIds);
    const mi = movies.indices(movieIds);
    const known: number[] = [];
    for (let i = 0; i < ui.length; i++) if (ui[i] >= 0 && mi[i] >= 0) known.push(i);
    const out = Object.assign(new Float32Array(ui.length), { fallbacks: ui.length - known.length });
    if (out.fallbacks > 0) fallback(ui, mi, out);
    const values = predictIndices(
      model,
      Int32Array.from(known, (i) => ui[i]),
      Int32Array.from(known, (i) => mi[i]),
      offset,
      range,
    );
    known.forEach((row, k) => (out[row] = values[k]));
    return out;
  };

  const recommend = (userId: number, n = 10): Recommendation[] => {
    const u = users.index(userId);
    if (u < 0) return [];
    const rated = new Uint8Array(movies.size);
    for (let k = seen.start[u]; k < seen.start[u + 1]; k++) rated[seen.movies[k]] = 1;
    const candidates = Int32Array.from({ length: movies.size }, (_, i) => i).filter(
      (i) => !rated[i],
    );
    const scores = predictIndices(
      model,
      new Int32Array(candidates.length).fill(u),
      candidates,
      offset,
      null,
    );
    return Array.from(candidates, (m, k) => ({ movieId: movies.id(m), score: scores[k] }))
      .sort((a, b) => b.score - a.score)
      .slice(0, n);
  };

  const dispose = () => {
    model.dispose();
    optimizer.dispose();
  };
  return { model, history, users, movies, offset, mean, bestEpoch, predict, recommend, dispose };
}

/**
 * Rows per model.fit call: the whole epoch up to 4M ratings (all of ml-latest-small), else chunks
 * of whole batches, so the batches and steps are those of one call. Two reasons: tfjs-layers'
 * fit indexes the rows through a float32 tensor, exact only below 2^24 (16.8M rows: beyond it
 * odd rows would be skipped and their neighbours trained twice), and a chunk's tensors, not the
 * epoch's, then sit on the wasm heap, which never shrinks. With several chunks, callbacks see
 * one model.fit (epoch begin and end) per chunk.
 */
export function fitChunkRows(batchSize: number, limit = 1 << 22): number {
  return Math.max(batchSize, Math.floor(limit / batchSize) * batchSize);
}

/** The movies each user rated in training, users' lists one after another (CSR): 4 bytes a rating, not a Set entry. */
function ratedBy(
  tu: Int32Array,
  tm: Int32Array,
  nUsers: number,
): { start: Int32Array; movies: Int32Array } {
  const start = new Int32Array(nUsers + 1);
  for (let i = 0; i < tu.length; i++) start[tu[i] + 1]++;
  for (let u = 0; u < nUsers; u++) start[u + 1] += start[u];
  const next = start.slice(0, nUsers);
  const movies = new Int32Array(tu.length);
  for (let i = 0; i < tu.length; i++) movies[next[tu[i]]++] = tm[i];
  return { start, movies };
}

/**
 * Fills `out` where the user or the movie index is -1: the training mean, plus the known side's
 * learned bias when `useBiases` (the biases are on the mean's scale), clipped to `range`.
 */
function collabFallback(
  model: tf.LayersModel,
  useBiases: boolean,
  mean: number,
  range: [number, number] | null,
): (ui: Int32Array, mi: Int32Array, out: Float32Array) => void {
  const biases = (name: string) => model.getLayer(name).getWeights()[0].dataSync() as Float32Array;
  return (ui: Int32Array, mi: Int32Array, out: Float32Array): void => {
    // Read now, not at fit time: the caller may have trained the model further.
    const [ub, mb] = useBiases ? [biases(LAYERS.userBias), biases(LAYERS.movieBias)] : [null, null];
    for (let i = 0; i < ui.length; i++) {
      if (ui[i] >= 0 && mi[i] >= 0) continue;
      const v = mean + (ub && ui[i] >= 0 ? ub[ui[i]] : 0) + (mb && mi[i] >= 0 ? mb[mi[i]] : 0);
      out[i] = range ? Math.min(range[1], Math.max(range[0], v)) : v;
    }
  };
}

/** A layer's weight matrix as rows (e.g. LAYERS.movieFactors -> one vector per movie index). */
export function layerRows(model: tf.LayersModel, layerName: string): number[][] {
  return model.getLayer(layerName).getWeights()[0].arraySync() as number[][];
}

export { LAYERS };
