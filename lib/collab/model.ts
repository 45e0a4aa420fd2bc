/** The lesson's three Keras-style collaborative-filtering models as tfjs-layers functional models. */
import * as tf from "@tensorflow/tfjs";
import { fastL2 } from "../engine/fused-l2";
import { useEmbeddingStep } from "../engine/lessons/embedding-step";
import { SeededDropout } from "../engine/seeded";
import { engineSwitch } from "../config";
import { activityL2 } from "./activity-l2";
import { CentredL2 } from "./centred-l2";

export type CollabKind = "dot" | "bias" | "nn";

export interface ModelSpec {
  kind: CollabKind;
  nUsers: number;
  nMovies: number;
  factors: number;
  /** L2 penalty on the factor (embedding) matrices, Keras-style: l2 * sum(w²) added to every batch's loss. */
  l2: number;
  /**
   * Per-occurrence L2 on the looked-up factor vectors (Keras's activityRegularizer on the Embedding): rate * mean over
   * the batch of |user factors|² + |movie factors|², so each vector is shrunk once per rating it appears in. Default 0.
   */
  activityL2?: number;
  /** L2 penalty on the bias embeddings (default 0, as in the lesson). */
  biasL2?: number;
  seed?: number;
  /** Factor embeddings start uniform in ±initScale (default 0.05, Keras's Embedding default); bias embeddings always ±0.05. */
  initScale?: number;
  /** nn only: dropout before and after the hidden layer (default the lesson's [0.3, 0.75]). */
  dropout?: [number, number];
  /** nn only: hidden units (default the lesson's 70). */
  hidden?: number;
  /**
   * Shrink these factor vectors towards their common (learned) mean vector instead of towards zero, in both the matrix
   * L2 and the per-occurrence L2: a Gaussian prior centred on a learned mean, as in Bayesian PMF. Default "none".
   */
  centredFactors?: "none" | "movies" | "both";
}

/** Layer names other code reads weights from. */
export const LAYERS = {
  userFactors: "user_factors",
  movieFactors: "movie_factors",
  userBias: "user_bias",
  movieBias: "movie_bias",
} as const;

/** Builds dot / dot+biases / neural-net models taking [user index, movie index] (each [batch, 1]) to a rating. */
export function buildCollabModel(spec: ModelSpec): tf.LayersModel {
  const seed = spec.seed ?? 42;
  const init = (offset: number, scale = 0.05) =>
    tf.initializers.randomUniform({ minval: -scale, maxval: scale, seed: seed + offset });
  const centred = (name: string) =>
    spec.centredFactors === "both" ||
    (spec.centredFactors === "movies" && name === LAYERS.movieFactors);
  // FastL2: the same penalty as tf.regularizers.l2 with a one-op gradient (LESSON4_FUSED_L2=0 compares the two)
  const plainL2 = !engineSwitch("LESSON4_FUSED_L2");
  const reg = (l2: number, name: string) =>
    l2 > 0
      ? centred(name)
        ? new CentredL2({ l2 })
        : plainL2
          ? tf.regularizers.l2({ l2 })
          : fastL2(l2)
      : undefined;
  const user = tf.input({ shape: [1], dtype: "int32", name: "user" });
  const movie = tf.input({ shape: [1], dtype: "int32", name: "movie" });
  const embed = (
    input: tf.SymbolicTensor,
    rows: number,
    dim: number,
    name: string,
    l2: number,
    offset: number,
    scale?: number,
  ) =>
    tf.layers.flatten({ name: `${name}_flat` }).apply(
      tf.layers
        .embedding({
          inputDim: rows,
          outputDim: dim,
          inputLength: 1,
          embeddingsInitializer: init(offset, scale),
          embeddingsRegularizer: reg(l2, name),
          name,
        })
        .apply(input),
    ) as tf.SymbolicTensor;
  const perOccurrence = (x: tf.SymbolicTensor, name: string) =>
    spec.activityL2
      ? (activityL2(spec.activityL2, `${name}_activity_l2`, centred(name)).apply(
          x,
        ) as tf.SymbolicTensor)
      : x;
  const u = perOccurrence(
    embed(user, spec.nUsers, spec.factors, LAYERS.userFactors, spec.l2, 1, spec.initScale),
    LAYERS.userFactors,
  );
  const m = perOccurrence(
    embed(movie, spec.nMovies, spec.factors, LAYERS.movieFactors, spec.l2, 2, spec.initScale),
    LAYERS.movieFactors,
  );
  let output: tf.SymbolicTensor;
  if (spec.kind === "nn") {
    let x = tf.layers.concatenate({ name: "concat" }).apply([u, m]) as tf.SymbolicTensor;
    // SeededDropout draws a new mask every batch (tf.layers.dropout with a seed repeats one mask on every batch).
    x = new SeededDropout({
      rate: spec.dropout?.[0] ?? 0.3,
      seed: seed + 3,
      name: "dropout_in",
    }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({
        units: spec.hidden ?? 70,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 4 }),
        name: "hidden",
      })
      .apply(x) as tf.SymbolicTensor;
    x = new SeededDropout({
      rate: spec.dropout?.[1] ?? 0.75,
      seed: seed + 5,
      name: "dropout_hidden",
    }).apply(x) as tf.SymbolicTensor;
    output = tf.layers
      .dense({
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 6 }),
        name: "rating",
      })
      .apply(x) as tf.SymbolicTensor;
  } else {
    output = tf.layers.dot({ axes: 1, name: "dot" }).apply([u, m]) as tf.SymbolicTensor;
    if (spec.kind === "bias") {
      const ub = embed(user, spec.nUsers, 1, LAYERS.userBias, spec.biasL2 ?? 0, 7);
      const mb = embed(movie, spec.nMovies, 1, LAYERS.movieBias, spec.biasL2 ?? 0, 8);
      output = tf.layers.add({ name: "rating" }).apply([output, ub, mb]) as tf.SymbolicTensor;
    }
  }
  const model = tf.model({ inputs: [user, movie], outputs: output, name: `collab_${spec.kind}` });
  // model.fit trains the dot and bias models through the engine's one-loop step where it can (same values).
  useEmbeddingStep(model);
  return model;
}
