/** A seeded random train/validation split of rating rows (exact shares, disjoint, repeatable). */
import { seededRandom, shuffledIndices } from "./ratings-random";

export interface Split<T> {
  train: T[];
  valid: T[];
  /** Row numbers (into the input) of each part, ascending. */
  trainRows: Int32Array;
  validRows: Int32Array;
}

/** Puts round(validShare * n) randomly chosen rows in `valid` and the rest in `train`. */
export function randomSplit<T>(rows: readonly T[], validShare = 0.2, seed = 42): Split<T> {
  if (!(validShare >= 0 && validShare <= 1))
    throw new RangeError(`validShare must be between 0 and 1, not ${validShare}`);
  const order = shuffledIndices(rows.length, seededRandom(seed));
  const nValid = Math.round(rows.length * validShare);
  const validRows = order.slice(0, nValid).sort();
  const trainRows = order.slice(nValid).sort();
  return {
    train: Array.from(trainRows, (i) => rows[i]),
    valid: Array.from(validRows, (i) => rows[i]),
    trainRows,
    validRows,
  };
}
