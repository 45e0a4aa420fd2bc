/**
 * Pseudo-labelling (the lesson's part 3): the model's own predictions on unlabelled inputs
 * become extra training targets, soft (the probabilities, as in knowledge distillation) or
 * hard (one-hot of the most likely class); and the probability clipping used for log loss.
 */
import * as tf from "@tensorflow/tfjs";
import { argmaxRows, logLoss, type StreamedPart } from "./train";
import type { RowSource } from "../vision/feature-store";

/** How predictions become targets. */
export type PseudoMode = "soft" | "hard";

/** Targets from predicted probabilities: the probabilities themselves, or one-hot of the top class. */
export function pseudoTargets(probs: number[][], mode: PseudoMode): number[][] {
  if (mode === "soft")
    return probs.map((row) => {
      const sum = row.reduce((a, b) => a + b, 0);
      return row.map((p) => p / sum);
    });
  return argmaxRows(probs).map((k, i) => probs[i].map((_, j) => (j === k ? 1 : 0)));
}

/** Training inputs and targets followed by the unlabelled inputs with their pseudo targets. */
export function withPseudoLabels(
  train: { x: tf.Tensor; y: tf.Tensor2D },
  unlabelledX: tf.Tensor,
  probs: number[][],
  mode: PseudoMode,
): { x: tf.Tensor; y: tf.Tensor2D } {
  if (unlabelledX.shape[0] !== probs.length)
    throw new Error(
      `withPseudoLabels: ${probs.length} predictions for ${unlabelledX.shape[0]} unlabelled inputs`,
    );
  if (probs.length && probs[0].length !== train.y.shape[1])
    throw new Error(
      `withPseudoLabels: predictions have ${probs[0].length} classes, the targets ${train.y.shape[1]}`,
    );
  return tf.tidy(() => ({
    x: tf.concat([train.x, unlabelledX]),
    y: tf.concat([
      train.y,
      tf.tensor2d(pseudoTargets(probs, mode), [probs.length, train.y.shape[1]]),
    ]) as tf.Tensor2D,
  }));
}

/**
 * `withPseudoLabels` for streamed rows: the unlabelled rows (on disk) with their pseudo targets, a
 * part to add to a streamed training set; nothing is copied into memory but the targets.
 */
export function pseudoPart(
  unlabelled: RowSource,
  probs: number[][],
  mode: PseudoMode,
): StreamedPart {
  if (unlabelled.rows !== probs.length)
    throw new Error(
      `pseudoPart: ${probs.length} predictions for ${unlabelled.rows} unlabelled rows`,
    );
  return { x: unlabelled, y: pseudoTargets(probs, mode) };
}

/**
 * Clips each probability to [(1 - mx) / (k - 1), mx] (the lesson's submission trick: a
 * confident mistake costs at most -log((1 - mx) / (k - 1)) instead of ~35).
 */
export function clipProbs(probs: number[][], mx: number): number[][] {
  if (!(mx > 0 && mx <= 1)) throw new Error(`clipProbs: mx must be in (0, 1], got ${mx}`);
  return probs.map((row) => {
    const lo = Math.min(mx, (1 - mx) / (row.length - 1));
    return row.map((p) => Math.min(mx, Math.max(lo, p)));
  });
}

/** Log loss on validation for each candidate `mx`, and the best one (ties go to the first). */
export function chooseClip(
  probs: number[][],
  labels: number[],
  candidates = [0.8, 0.85, 0.9, 0.93, 0.95, 0.98, 0.99, 1],
): { results: Array<{ mx: number; loss: number }>; best: number } {
  const results = candidates.map((mx) => ({ mx, loss: logLoss(clipProbs(probs, mx), labels) }));
  const best = results.reduce((a, b) => (b.loss < a.loss ? b : a)).mx;
  return { results, best };
}
