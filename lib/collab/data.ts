/** Turns the inputs fitCollab accepts (a danfo DataFrame, an array of records, or typed columns) into typed columns. */
import type { Rating } from "../datasets/movielens";
import type { ColumnRatings } from "../datasets/ratings-split";

/**
 * A danfo DataFrame with userId, movieId and rating columns, rating records, or typed columns
 * (readRatingsStream, splitColumns), which scale to 25M ratings because no row is an object.
 */
export type RatingsInput =
  | Rating[]
  | { columns: string[]; column(name: string): { values: unknown[] } }
  | ColumnRatings;

export interface RatingColumns {
  userIds: Float64Array;
  movieIds: Float64Array;
  ratings: Float32Array;
}

/** Columns of a DataFrame, array of records or typed columns; throws naming the missing column. */
export function toColumns(input: RatingsInput): RatingColumns {
  if (isColumnRatings(input)) {
    const { userIds, movieIds, ratings } = typedColumns(input);
    return {
      userIds: Float64Array.from(userIds),
      movieIds: Float64Array.from(movieIds),
      ratings,
    };
  }
  if (Array.isArray(input)) {
    return {
      userIds: Float64Array.from(input, (r) => r.userId),
      movieIds: Float64Array.from(input, (r) => r.movieId),
      ratings: Float32Array.from(input, (r) => r.rating),
    };
  }
  for (const name of ["userId", "movieId", "rating"]) {
    if (!input.columns.includes(name))
      throw new Error(
        `the ratings DataFrame has no "${name}" column (columns: ${input.columns.join(", ")})`,
      );
  }
  const numbers = (name: string) => input.column(name).values.map(Number);
  return {
    userIds: Float64Array.from(numbers("userId")),
    movieIds: Float64Array.from(numbers("movieId")),
    ratings: Float32Array.from(numbers("rating")),
  };
}

const isColumnRatings = (input: RatingsInput): input is ColumnRatings =>
  !Array.isArray(input) && "userIds" in input && "movieIds" in input && "ratings" in input;

/** Typed columns checked for equal lengths, as given (no copy). */
function typedColumns(input: ColumnRatings): ColumnRatings {
  const { userIds, movieIds, ratings } = input;
  if (userIds.length !== ratings.length || movieIds.length !== ratings.length)
    throw new RangeError(
      `the rating columns differ in length: ${userIds.length} user ids, ${movieIds.length} movie ids, ${ratings.length} ratings; give one of each per rating`,
    );
  return input;
}

/**
 * toColumns without copying typed columns (ids stay Int32Array when they were): what fitCollab
 * trains on, so 25M ratings are held once.
 */
export function idColumns(input: RatingsInput): ColumnRatings {
  return isColumnRatings(input) ? typedColumns(input) : toColumns(input);
}

/** Root mean squared error over pairs where the prediction is a number. */
export function rmse(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < predicted.length; i++) {
    if (Number.isNaN(predicted[i])) continue;
    const d = predicted[i] - actual[i];
    sum += d * d;
    n++;
  }
  return n ? Math.sqrt(sum / n) : NaN;
}
