/** Generated ratings with a known low-rank truth: test fixtures, and the stand-in when MovieLens is unavailable. */
import { normal, seededRandom } from "./ratings-random";
import type { Movie, Rating } from "./movielens";

export interface SyntheticOptions {
  users?: number;
  movies?: number;
  /** Rank of the true user x movie matrix (default 3). */
  factors?: number;
  /** Share of the user x movie cells that get a rating (default 0.1). */
  density?: number;
  /** Standard deviation of the Gaussian noise added to the truth (default 0.3). */
  noise?: number;
  /** Round to half stars and clip to 0.5-5 like MovieLens (default false: keeps the noise exactly Gaussian). */
  halfStars?: boolean;
  seed?: number;
}

export interface SyntheticRatings {
  ratings: Rating[];
  movies: Movie[];
  /** The noiseless rating of (userId, movieId). */
  truth(userId: number, movieId: number): number;
  noise: number;
}

/** Ratings = 3.5 + user bias + movie bias + u·m + noise, with sparse MovieLens-like ids (users 1.., movies 10, 17, 24, ...). */
export function generateRatings(options: SyntheticOptions = {}): SyntheticRatings {
  const {
    users = 200,
    movies = 300,
    factors = 3,
    density = 0.1,
    noise = 0.3,
    halfStars = false,
    seed = 42,
  } = options;
  const random = seededRandom(seed);
  const scale = 0.8 / Math.sqrt(factors);
  const u = Array.from({ length: users }, () =>
    Array.from({ length: factors }, () => normal(random) * scale),
  );
  const m = Array.from({ length: movies }, () =>
    Array.from({ length: factors }, () => normal(random) * scale),
  );
  const ub = Array.from({ length: users }, () => normal(random) * 0.3);
  const mb = Array.from({ length: movies }, () => normal(random) * 0.4);
  const userId = (i: number) => i + 1;
  const movieId = (j: number) => 10 + 7 * j;
  const value = (i: number, j: number) =>
    3.5 + ub[i] + mb[j] + u[i].reduce((s, x, k) => s + x * m[j][k], 0);
  const ratings: Rating[] = [];
  for (let i = 0; i < users; i++) {
    for (let j = 0; j < movies; j++) {
      if (random() >= density) continue;
      let r = value(i, j) + normal(random) * noise;
      if (halfStars) r = Math.min(5, Math.max(0.5, Math.round(r * 2) / 2));
      ratings.push({ userId: userId(i), movieId: movieId(j), rating: r, timestamp: 0 });
    }
  }
  const movieList: Movie[] = Array.from({ length: movies }, (_, j) => ({
    movieId: movieId(j),
    title: `Generated movie ${movieId(j)}`,
    genres: "(generated)",
  }));
  return {
    ratings,
    movies: movieList,
    noise,
    truth: (uid, mid) => value(uid - 1, (mid - 10) / 7),
  };
}
