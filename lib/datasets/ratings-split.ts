/** A seeded random train/validation split of rating rows (exact shares, disjoint, repeatable). */
import { seededRandom, shuffledIndices } from "./ratings-random";

export interface Split<T> {
  train: T[];
  valid: T[];
  /** Row numbers (into the input) of each part, ascending. */
  trainRows: Int32Array;
  validRows: Int32Array;
}

/** Rating columns (typed arrays), as readRatingsStream gives them. */
export interface ColumnRatings {
  userIds: Int32Array | Float64Array;
  movieIds: Int32Array | Float64Array;
  ratings: Float32Array;
}

/** The row numbers of each part of a split of n rows: the rows randomSplit puts in each. */
export function splitRows(
  n: number,
  validShare = 0.2,
  seed = 42,
): { trainRows: Int32Array; validRows: Int32Array } {
  if (!(validShare >= 0 && validShare <= 1))
    throw new RangeError(`validShare must be between 0 and 1, not ${validShare}`);
  const order = shuffledIndices(n, seededRandom(seed));
  const nValid = Math.round(n * validShare);
  return { validRows: order.slice(0, nValid).sort(), trainRows: order.slice(nValid).sort() };
}

/** Puts round(validShare * n) randomly chosen rows in `valid` and the rest in `train`. */
export function randomSplit<T>(rows: readonly T[], validShare = 0.2, seed = 42): Split<T> {
  const { trainRows, validRows } = splitRows(rows.length, validShare, seed);
  return {
    train: Array.from(trainRows, (i) => rows[i]),
    valid: Array.from(validRows, (i) => rows[i]),
    trainRows,
    validRows,
  };
}

/**
 * randomSplit for typed columns: the same rows in each part, gathered into new typed columns
 * (no per-row objects, so it scales to 25M ratings).
 */
export function splitColumns<C extends ColumnRatings>(
  columns: C,
  validShare = 0.2,
  seed = 42,
): { train: ColumnRatings; valid: ColumnRatings; trainRows: Int32Array; validRows: Int32Array } {
  const { trainRows, validRows } = splitRows(columns.ratings.length, validShare, seed);
  return { train: pick(columns, trainRows), valid: pick(columns, validRows), trainRows, validRows };
}

function pick(columns: ColumnRatings, rows: Int32Array): ColumnRatings {
  const gather = <A extends Int32Array | Float64Array | Float32Array>(from: A, to: A): A => {
    for (let i = 0; i < rows.length; i++) to[i] = from[rows[i]];
    return to;
  };
  const like = (a: Int32Array | Float64Array) =>
    a instanceof Int32Array ? new Int32Array(rows.length) : new Float64Array(rows.length);
  return {
    userIds: gather(columns.userIds, like(columns.userIds)),
    movieIds: gather(columns.movieIds, like(columns.movieIds)),
    ratings: gather(columns.ratings, new Float32Array(rows.length)),
  };
}
