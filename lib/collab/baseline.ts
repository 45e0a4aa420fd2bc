/** The yardstick the lesson skipped: global mean + damped user and movie offsets, no latent factors. */
import { toColumns, type RatingsInput } from "./data";

export interface BiasBaseline {
  mean: number;
  movieOffset: Map<number, number>;
  userOffset: Map<number, number>;
  /** Predictions; an unknown user or movie gets offset 0 (the mean plus what is known). */
  predict(userIds: ArrayLike<number>, movieIds: ArrayLike<number>): Float32Array;
}

/**
 * movie offset = sum(r - mean) / (n_movie + prior); user offset = sum(r - mean - movie offset) / (n_user + prior):
 * each offset is shrunk towards 0 as if `prior` extra ratings equal to the mean had been seen.
 */
export function fitBiasBaseline(
  ratings: RatingsInput,
  options: { prior?: number; clip?: [number, number] } = {},
): BiasBaseline {
  const prior = options.prior ?? 5;
  const { userIds, movieIds, ratings: r } = toColumns(ratings);
  const n = r.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += r[i];
  const mean = total / n;
  const offsets = (keys: Float64Array, residual: (i: number) => number) => {
    const sums = new Map<number, [number, number]>();
    for (let i = 0; i < n; i++) {
      const s = sums.get(keys[i]) ?? [0, 0];
      s[0] += residual(i);
      s[1] += 1;
      sums.set(keys[i], s);
    }
    return new Map(
      Array.from(sums, ([k, [sum, count]]) => [k, sum / (count + prior)] as [number, number]),
    );
  };
  const movieOffset = offsets(movieIds, (i) => r[i] - mean);
  const userOffset = offsets(userIds, (i) => r[i] - mean - (movieOffset.get(movieIds[i]) ?? 0));
  const [lo, hi] = options.clip ?? [0.5, 5];
  return {
    mean,
    movieOffset,
    userOffset,
    predict(users, movies) {
      const out = new Float32Array(users.length);
      for (let i = 0; i < users.length; i++) {
        out[i] = Math.min(
          hi,
          Math.max(lo, mean + (userOffset.get(users[i]) ?? 0) + (movieOffset.get(movies[i]) ?? 0)),
        );
      }
      return out;
    },
  };
}
