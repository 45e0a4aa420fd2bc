/** Turns the inputs fitCollab accepts (a danfo DataFrame or an array of records) into typed columns. */
import type { Rating } from "../datasets/movielens";

/** A danfo DataFrame with userId, movieId and rating columns, or rating records. */
export type RatingsInput =
  | Rating[]
  | { columns: string[]; column(name: string): { values: unknown[] } };

export interface RatingColumns {
  userIds: Float64Array;
  movieIds: Float64Array;
  ratings: Float32Array;
}

/** Columns of a DataFrame or array of records; throws naming the missing column. */
export function toColumns(input: RatingsInput): RatingColumns {
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
