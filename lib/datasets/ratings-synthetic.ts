/**
 * Generated ratings with a known low-rank truth: test fixtures, the stand-in when MovieLens is
 * unavailable, and a ratings.csv of ML-25M's shape streamed to disk for the 25M-rating runs.
 */
import * as fs from "fs";
import * as path from "path";
import { once } from "events";
import { readConfig, type Config } from "../config";
import { normal, seededRandom, shuffledIndices } from "./ratings-random";
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

/** ML-25M's counts: what writeSyntheticRatings makes by default. */
export const ML25M_SHAPE = { users: 162_541, movies: 59_047, ratings: 25_000_095 } as const;

export interface LargeSyntheticOptions {
  users?: number;
  movies?: number;
  ratings?: number;
  /** Rank of the true user x movie matrix (default 8). */
  factors?: number;
  /** Standard deviation of the noise before rounding to half stars (default 0.7). */
  noise?: number;
  /** Fewest ratings per user (default 20, as in MovieLens; less when ratings / users is smaller). */
  minPerUser?: number;
  seed?: number;
  /** Called after each block written, with the users and rows written so far. */
  onProgress?: (users: number, rows: number) => void;
}

export interface SyntheticFile {
  file: string;
  /** false: the file was already there (it is only ever complete: written under a temp name). */
  generated: boolean;
  seconds: number;
}

const LARGE_DEFAULTS = { ...ML25M_SHAPE, factors: 8, noise: 0.7, minPerUser: 20, seed: 42 };
type Shape = Omit<LargeSyntheticOptions, "onProgress">;
const HALF_STARS = Array.from({ length: 11 }, (_, k) => (k / 2).toFixed(1));

/**
 * Writes a MovieLens-format ratings.csv with ML-25M's shape without visiting every user x movie
 * cell: each user's count from a skewed (log-normal) share of the total, at least minPerUser;
 * movies drawn by a Zipf-like popularity (p ~ (rank + 100)^-1.3) without repeats; rating = 3.5 +
 * user bias + movie bias + user · movie (rank `factors`) + noise, in half stars from 0.5 to 5.
 * Rows are in (user, movie) order like MovieLens'; the counts are exactly the ones asked for, and
 * when there are at least as many users as movies every movie is rated. Same seed, same file.
 * Written to a temp name in the same folder and renamed, so `file` is only ever complete.
 */
export async function writeSyntheticRatings(
  file: string,
  options: LargeSyntheticOptions = {},
): Promise<void> {
  const o = { ...LARGE_DEFAULTS, ...options };
  const { users, movies, ratings, factors } = o;
  for (const [name, value] of Object.entries({ users, movies, ratings, factors }))
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${name} must be a whole number >= 1, not ${value}`);
  if (ratings < users || ratings > users * movies)
    throw new RangeError(
      `ratings must be between users (${users}: each rates at least one movie) and users x movies (${users * movies}: no movie twice), not ${ratings}`,
    );
  const random = seededRandom(o.seed);
  const counts = userCounts(
    users,
    movies,
    ratings,
    Math.min(o.minPerUser, ratings / users),
    random,
  );
  const pickRank = popularity(movies);
  const rankToMovie = shuffledIndices(movies, random);
  const scale = Math.sqrt(0.5 / Math.sqrt(factors));
  const gaussians = (n: number, sd: number) =>
    Float32Array.from({ length: n }, () => normal(random) * sd);
  const uf = gaussians(users * factors, scale);
  const mf = gaussians(movies * factors, scale);
  const ub = gaussians(users, 0.4);
  const mb = gaussians(movies, 0.45);
  const step = Math.max(1, 209_170 / Math.max(1, movies - 1)); // ids spread like ML-25M's (up to 209171)
  const movieId = (j: number) => 1 + Math.floor(j * step);

  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const out = fs.createWriteStream(tmp);
  const failed = new Promise<never>((_, reject) => out.once("error", reject));
  failed.catch(() => undefined);
  try {
    await Promise.race([once(out, "ready"), failed]);
    let rows = 0;
    const stamp = new Int32Array(movies);
    const picks = new Int32Array(movies);
    let text = "userId,movieId,rating,timestamp\n";
    for (let i = 0; i < users; i++) {
      const k = counts[i];
      let n = 0;
      if (i < movies) {
        picks[n++] = i; // user i rates movie i: every movie gets a rating
        stamp[i] = i + 1;
      }
      while (n < k) {
        let j = -1;
        for (let t = 0; t < 64 && j < 0; t++) {
          const r = rankToMovie[pickRank(random())];
          if (stamp[r] !== i + 1) j = r;
        }
        // A heavy rater who has seen most popular movies: the next unseen one from a random place.
        if (j < 0)
          for (j = Math.floor(random() * movies); stamp[j] === i + 1; ) j = (j + 1) % movies;
        stamp[j] = i + 1;
        picks[n++] = j;
      }
      const mine = picks.subarray(0, k).sort();
      const since = 789_652_009 + Math.floor(random() * 760_000_000); // 1995 to 2019
      for (const j of mine) {
        let dot = 0;
        for (let f = 0; f < factors; f++) dot += uf[i * factors + f] * mf[j * factors + f];
        const value = 3.5 + ub[i] + mb[j] + dot + normal(random) * o.noise;
        const half = Math.min(10, Math.max(1, Math.round(value * 2)));
        const time = since + Math.floor(random() * 30_000_000);
        text += `${i + 1},${movieId(j)},${HALF_STARS[half]},${time}\n`;
      }
      rows += k;
      if (text.length > 1 << 20 || i === users - 1) {
        if (!out.write(text)) await Promise.race([once(out, "drain"), failed]);
        text = "";
        o.onProgress?.(i + 1, rows);
      }
    }
    await Promise.race([new Promise<void>((resolve) => out.end(() => resolve())), failed]);
    fs.renameSync(tmp, file);
  } finally {
    out.destroy();
    fs.rmSync(tmp, { force: true });
  }
}

/** Ratings per user: min each, the rest shared by log-normal weights, none above `movies`, exactly `ratings` in all. */
function userCounts(
  users: number,
  movies: number,
  ratings: number,
  min: number,
  random: () => number,
): Int32Array {
  const base = Math.floor(min);
  const weights = Float64Array.from({ length: users }, () => Math.exp(1.2 * normal(random)));
  const sum = weights.reduce((a, b) => a + b, 0);
  const extra = ratings - base * users;
  const counts = Int32Array.from(weights, (w) =>
    Math.min(movies, base + Math.floor((extra * w) / sum)),
  );
  let left = ratings - counts.reduce((a, b) => a + b, 0);
  for (let i = Math.floor(random() * users); left > 0; i = (i + 1) % users)
    if (counts[i] < movies) {
      counts[i]++;
      left--;
    }
  return counts;
}

/** A sampler of popularity ranks 0..n-1 with p(rank) ~ (rank + 100)^-1.3 (inverse CDF, binary search). */
function popularity(n: number): (u: number) => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) cdf[r] = total += (r + 101) ** -1.3;
  for (let r = 0; r < n; r++) cdf[r] /= total;
  return (u) => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** The folder name of a generated set: movielens-synthetic-25m for ML-25M's shape and defaults. */
export function syntheticFolder(options: Shape = {}): string {
  const o = { ...LARGE_DEFAULTS, ...options };
  const same = (Object.keys(LARGE_DEFAULTS) as Array<keyof typeof LARGE_DEFAULTS>).every(
    (k) => o[k] === LARGE_DEFAULTS[k],
  );
  if (same) return "movielens-synthetic-25m";
  const model = `f${o.factors}-n${o.noise}-min${o.minPerUser}`;
  return `movielens-synthetic-${o.users}x${o.movies}-${o.ratings}-seed${o.seed}-${model}`;
}

/** The generated ratings.csv under the data folder, written once (first call) and reused. */
export async function ensureSyntheticRatings(
  options: LargeSyntheticOptions = {},
  config: Pick<Config, "dataDir"> = readConfig(),
): Promise<SyntheticFile> {
  const file = path.join(config.dataDir, syntheticFolder(options), "ratings.csv");
  const started = Date.now();
  if (fs.existsSync(file)) return { file, generated: false, seconds: 0 };
  await writeSyntheticRatings(file, options);
  return { file, generated: true, seconds: (Date.now() - started) / 1000 };
}
