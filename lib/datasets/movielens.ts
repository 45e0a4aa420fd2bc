/**
 * MovieLens ml-latest-small for the collaborative-filtering lessons: finds or downloads it,
 * parses ratings.csv and movies.csv line by line with papaparse (bad rows reported by line), and
 * falls back to a generated set, with a banner, when no copy can be had.
 */
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import Papa from "papaparse";
import { unzipSync } from "fflate";
import * as dfd from "danfojs-node";
import { readConfig, type Config } from "../config";
import { DownloadError, downloadFile, fromSources, writeFileAtomic } from "./sources";
import { generateRatings } from "./ratings-synthetic";

export { IdIndex } from "./ratings-ids";
export { randomSplit, type Split } from "./ratings-split";
export { generateRatings, type SyntheticOptions, type SyntheticRatings } from "./ratings-synthetic";

export const MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip";
/** GroupLens publishes the zip's MD5 beside it. */
export const MOVIELENS_MD5_URL = `${MOVIELENS_URL}.md5`;
/** Share of malformed rows above which loading fails (default 1%). */
export const DEFAULT_MAX_BAD_SHARE = 0.01;

export interface Rating {
  userId: number;
  movieId: number;
  rating: number;
  timestamp?: number;
}
export interface Movie {
  movieId: number;
  title: string;
  genres: string;
}
/** A row that was skipped: its 1-based line number in the file, why, and its text. */
export interface BadRow {
  line: number;
  reason: string;
  text: string;
}
export interface ParseReport<T> {
  rows: T[];
  bad: BadRow[];
  /** Data rows read (good + bad, header and blank lines excluded). */
  total: number;
}

/** Too many malformed rows: the message lists the first few with their line numbers. */
export class MalformedDataError extends Error {
  constructor(
    readonly file: string,
    readonly bad: BadRow[],
    readonly total: number,
    maxShare: number,
    /** How many rows were bad, when `bad` holds only the first ones (the streaming reader). */
    readonly badCount: number = bad.length,
    /** What to do about it, appended to the message. */
    hint?: string,
  ) {
    super(
      `${file}: ${badCount} of ${total} rows are malformed (more than the allowed ${(maxShare * 100).toFixed(1)}%). First ones: ` +
        bad
          .slice(0, 5)
          .map((b) => `line ${b.line}: ${b.reason}`)
          .join("; ") +
        (hint ? `. ${hint}` : ""),
    );
    this.name = "MalformedDataError";
  }
}

/** One physical line of a CSV file: its fields, or why they could not be read. */
type CsvLine = { line: number; text: string } & ({ fields: string[] } | { error: string });

/**
 * The file's lines (\n, \r\n or \r), each parsed on its own, so a stray quote spoils only its own
 * line: parsed as a whole, papaparse lets an unclosed quote run on through the next lines and
 * swallow their rows. MovieLens rows never span lines (ids, ratings, titles). A line without quotes
 * is split on commas; one with quotes goes through papaparse (quoted fields, "" escapes).
 */
function csvLines(text: string): CsvLine[] {
  return text
    .replace(/^\uFEFF/, "")
    .split(/\r\n|\n|\r/)
    .map((lineText, i): CsvLine => ({ line: i + 1, text: lineText, ...csvFields(lineText) }));
}

/** One line's fields (see csvLines), or why they could not be read; shared with ratings-stream.ts. */
export function csvFields(lineText: string): { fields: string[] } | { error: string } {
  if (!lineText.includes('"')) return { fields: lineText.split(",") };
  const parsed = Papa.parse<string[]>(lineText, { header: false, delimiter: "," });
  const quote = parsed.errors.find((e) => e.type === "Quotes");
  if (quote) return { error: `${quote.message.toLowerCase()} (a row must be on one line)` };
  return { fields: parsed.data[0] ?? [""] };
}

const ID = /^\s*\d+\s*$/;

function checkShare(file: string, bad: BadRow[], total: number, maxBadShare: number): void {
  if (total > 0 && bad.length / total > maxBadShare)
    throw new MalformedDataError(file, bad, total, maxBadShare);
}

/**
 * The row loop both parsers share: skips the header and blank lines, counts data rows, turns each
 * into a value or (when `parse` returns a string) a BadRow with that reason and its 1-based line in
 * the file, then fails the load above `maxBadShare`.
 */
function parseDataRows<T>(
  lines: CsvLine[],
  file: string,
  maxBadShare: number,
  parse: (row: string[]) => T | string,
): ParseReport<T> {
  const out: T[] = [];
  const bad: BadRow[] = [];
  let total = 0;
  for (const current of lines.slice(1)) {
    if (current.text.trim() === "") continue;
    total++;
    const value = "error" in current ? current.error : parse(current.fields);
    if (typeof value === "string")
      bad.push({ line: current.line, reason: value, text: current.text });
    else out.push(value);
  }
  checkShare(file, bad, total, maxBadShare);
  return { rows: out, bad, total };
}

/** Where userId, movieId, rating and timestamp (-1: absent) are in a ratings.csv header. */
export interface RatingColumnsAt {
  user: number;
  movie: number;
  rating: number;
  timestamp: number;
}

/** The columns of a ratings.csv header row; throws MalformedDataError (line 1) when one is missing. */
export function ratingsHeader(fields: string[], file: string): RatingColumnsAt {
  const header = fields.map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  const at = {
    user: col("userId"),
    movie: col("movieId"),
    rating: col("rating"),
    timestamp: col("timestamp"),
  };
  if (at.user < 0 || at.movie < 0 || at.rating < 0)
    throw new MalformedDataError(
      file,
      [
        {
          line: 1,
          reason: `header must name userId, movieId and rating (found ${header.join(",")})`,
          text: header.join(","),
        },
      ],
      1,
      0,
    );
  return at;
}

/** One data row's rating, or why it is malformed (parseRatings' rules; shared with ratings-stream.ts). */
export function parseRatingRow(row: string[], at: RatingColumnsAt): Rating | string {
  const [u, m, r] = [row[at.user], row[at.movie], row[at.rating]];
  if (
    u === undefined ||
    m === undefined ||
    r === undefined ||
    u.trim() === "" ||
    m.trim() === "" ||
    r.trim() === ""
  )
    return "missing field";
  if (!ID.test(u)) return `userId ${JSON.stringify(u)} is not a whole number`;
  if (!ID.test(m)) return `movieId ${JSON.stringify(m)} is not a whole number`;
  const rating = Number(r);
  if (!Number.isFinite(rating) || rating < 0.5 || rating > 5)
    return `rating ${JSON.stringify(r)} is outside 0.5-5`;
  const t = at.timestamp;
  return {
    userId: Number(u),
    movieId: Number(m),
    rating,
    timestamp: t >= 0 && row[t] !== undefined ? Number(row[t]) : undefined,
  };
}

/** Parses ratings.csv text (userId,movieId,rating,timestamp); bad rows are skipped, listed by line, and fail the load above `maxBadShare`. */
export function parseRatings(
  text: string,
  options: { maxBadShare?: number; file?: string } = {},
): ParseReport<Rating> {
  const lines = csvLines(text);
  const file = options.file ?? "ratings.csv";
  const first = lines[0];
  const at = ratingsHeader(first && "fields" in first ? first.fields : [], file);
  return parseDataRows<Rating>(lines, file, options.maxBadShare ?? DEFAULT_MAX_BAD_SHARE, (row) =>
    parseRatingRow(row, at),
  );
}

/** Parses movies.csv text (movieId,title,genres; titles may be quoted). */
export function parseMovies(
  text: string,
  options: { maxBadShare?: number; file?: string } = {},
): ParseReport<Movie> {
  const file = options.file ?? "movies.csv";
  return parseDataRows<Movie>(
    csvLines(text),
    file,
    options.maxBadShare ?? DEFAULT_MAX_BAD_SHARE,
    (row) => {
      if (row.length < 2) return "missing field";
      if (!ID.test(row[0] ?? "")) return `movieId ${JSON.stringify(row[0])} is not a whole number`;
      if (!(row[1] ?? "").trim()) return "missing title";
      return { movieId: Number(row[0]), title: row[1], genres: row[2] ?? "" };
    },
  );
}

const REQUIRED = ["ratings.csv", "movies.csv"];
const hasFiles = (folder: string) => REQUIRED.every((f) => fs.existsSync(path.join(folder, f)));

export interface LocateOptions {
  config?: Pick<Config, "sourcesDir" | "dataDir">;
  /** The fetch to use (tests pass one that fails). */
  fetchImpl?: typeof fetch;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

export interface MovieLensLocation {
  folder: string;
  /** `sources`: LESSON4_SOURCES_DIR; `data`: already in data/; `download`: fetched now. */
  origin: "sources" | "data" | "download";
}

/** The instruction printed when the data cannot be downloaded. */
export function manualInstructions(dataDir: string): string {
  return `download ${MOVIELENS_URL} by hand and unzip it so that ${path.join(dataDir, "ml-latest-small", "ratings.csv")} and movies.csv exist, or set LESSON4_SOURCES_DIR to a folder holding data/ml-latest-small/`;
}

/** Finds ml-latest-small: LESSON4_SOURCES_DIR, then data/, then downloads and unzips it into data/ (temp names, MD5 or size checked). */
export async function locateMovieLens(options: LocateOptions = {}): Promise<MovieLensLocation> {
  const config = options.config ?? readConfig();
  const log = options.log ?? ((line: string) => console.log(line));
  const shared = fromSources("data/ml-latest-small", config);
  if (shared && hasFiles(shared)) return { folder: shared, origin: "sources" };
  const folder = path.join(config.dataDir, "ml-latest-small");
  if (hasFiles(folder)) return { folder, origin: "data" };

  const zipPath = path.join(config.dataDir, "ml-latest-small.zip");
  const hint = manualInstructions(config.dataDir);
  const fetchImpl = options.fetchImpl ?? fetch;
  let lastTenth = -1;
  log(`Downloading ${MOVIELENS_URL} ...`);
  await downloadFile(MOVIELENS_URL, zipPath, {
    fetchImpl,
    manualHint: hint,
    onProgress: (received, total) => {
      const tenth =
        Number.isFinite(total) && total > 0
          ? Math.floor((10 * received) / total)
          : Math.floor(received / 250_000);
      if (tenth !== lastTenth)
        log(
          `  ${(received / 1e6).toFixed(2)} MB${Number.isFinite(total) ? ` of ${(total / 1e6).toFixed(2)} MB` : ""}`,
        );
      lastTenth = tenth;
    },
  });
  try {
    const zip = new Uint8Array(fs.readFileSync(zipPath));
    const expectedMd5 = await fetchMd5(fetchImpl);
    if (expectedMd5) {
      const actual = createHash("md5").update(zip).digest("hex");
      if (actual !== expectedMd5)
        throw new DownloadError(
          `The download of ${MOVIELENS_URL} is corrupt (MD5 ${actual}, expected ${expectedMd5}). To continue, ${hint}.`,
        );
      log(`  MD5 verified (${actual})`);
    } else {
      log("  (MD5 file not available; the size was checked against the server's Content-Length)");
    }
    const files = unzipSync(zip, {
      filter: (f) => REQUIRED.some((name) => f.name.endsWith(`/${name}`) || f.name === name),
    });
    for (const name of REQUIRED) {
      const entry = Object.entries(files).find(([k]) => k.endsWith(`/${name}`) || k === name);
      if (!entry)
        throw new DownloadError(`${zipPath} does not contain ${name}. To continue, ${hint}.`);
      writeFileAtomic(path.join(folder, name), entry[1]);
    }
  } catch (error) {
    fs.rmSync(zipPath, { force: true });
    throw error instanceof DownloadError
      ? error
      : new DownloadError(
          `Could not unpack ${zipPath}: ${(error as Error).message}. To continue, ${hint}.`,
        );
  }
  log(`  unpacked to ${folder}`);
  return { folder, origin: "download" };
}

async function fetchMd5(fetchImpl: typeof fetch): Promise<string | null> {
  try {
    const response = await fetchImpl(MOVIELENS_MD5_URL);
    if (!response.ok) return null;
    return (await response.text()).match(/[0-9a-f]{32}/i)?.[0].toLowerCase() ?? null;
  } catch {
    return null;
  }
}

export interface MovieLensData {
  ratings: Rating[];
  movies: Movie[];
  /** The same as DataFrames (userId, movieId, rating, timestamp / movieId, title, genres). */
  ratingsDf: dfd.DataFrame;
  moviesDf: dfd.DataFrame;
  /** Where the data came from; `generated` means MovieLens was not available. */
  source:
    | { kind: "movielens"; folder: string; origin: MovieLensLocation["origin"] }
    | { kind: "generated"; reason: string };
  /** A warning to show prominently when the data is generated, else null. */
  banner: string | null;
  badRows: { ratings: BadRow[]; movies: BadRow[] };
}

export interface LoadOptions extends LocateOptions {
  /** Share of malformed rows above which loading fails (default 1%). */
  maxBadShare?: number;
  /** Use a generated set when MovieLens cannot be found or downloaded (default true). */
  fallback?: boolean;
}

/** Ratings and movies as arrays and DataFrames, from MovieLens or (with a banner) a generated stand-in. */
export async function loadMovieLens(options: LoadOptions = {}): Promise<MovieLensData> {
  let location: MovieLensLocation;
  try {
    location = await locateMovieLens(options);
  } catch (error) {
    if (!(error instanceof DownloadError) || options.fallback === false) throw error;
    const synthetic = generateRatings({
      users: 610,
      movies: 1500,
      factors: 8,
      density: 0.1,
      noise: 0.7,
      halfStars: true,
      seed: 42,
    });
    const banner = `GENERATED DATA — MovieLens is not available (${error.message}) These numbers come from a generated ratings set with a known low-rank structure, not from real users.`;
    return {
      ratings: synthetic.ratings,
      movies: synthetic.movies,
      ratingsDf: toDataFrame(synthetic.ratings),
      moviesDf: new dfd.DataFrame(synthetic.movies),
      source: { kind: "generated", reason: error.message },
      banner,
      badRows: { ratings: [], movies: [] },
    };
  }
  const ratings = parseRatings(fs.readFileSync(path.join(location.folder, "ratings.csv"), "utf8"), {
    maxBadShare: options.maxBadShare,
  });
  const movies = parseMovies(fs.readFileSync(path.join(location.folder, "movies.csv"), "utf8"), {
    maxBadShare: options.maxBadShare,
  });
  return {
    ratings: ratings.rows,
    movies: movies.rows,
    ratingsDf: toDataFrame(ratings.rows),
    moviesDf: new dfd.DataFrame(movies.rows),
    source: { kind: "movielens", folder: location.folder, origin: location.origin },
    banner: null,
    badRows: { ratings: ratings.bad, movies: movies.bad },
  };
}

/** Ratings as a danfo DataFrame with columns userId, movieId, rating. */
export function toDataFrame(ratings: Rating[]): dfd.DataFrame {
  return new dfd.DataFrame({
    userId: ratings.map((r) => r.userId),
    movieId: ratings.map((r) => r.movieId),
    rating: ratings.map((r) => r.rating),
  });
}
