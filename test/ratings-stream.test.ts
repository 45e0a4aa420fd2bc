/**
 * Ratings at ML-25M's scale, on small generated fixtures: the streaming reader agrees with
 * parseRatings row for row and bad row for bad row, the generator is repeatable, exact in its
 * counts and never leaves a half-written file, and the typed-column path of fitCollab, IdIndex and
 * the split gives what the array-of-records path gives.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MalformedDataError, parseRatings } from "../lib/datasets/movielens";
import {
  MAX_BAD_KEPT,
  findMovieLens25m,
  readRatingsStream,
  type StreamedRatings,
} from "../lib/datasets/ratings-stream";
import {
  ensureSyntheticRatings,
  syntheticFolder,
  writeSyntheticRatings,
} from "../lib/datasets/ratings-synthetic";
import { IdIndex } from "../lib/datasets/ratings-ids";
import { randomSplit, splitColumns } from "../lib/datasets/ratings-split";
import { fitChunkRows, fitCollab } from "../lib/collab/fit";

const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ratings-stream-"));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const write = (dir: string, text: string | Buffer, name = "ratings.csv") => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

/** Every kind of line parseRatings meets: fast rows, and ones only its own code may judge. */
const MESSY = [
  "\uFEFFuserId,movieId,rating,timestamp",
  "1,10,4.0,964982703",
  "1,x7,3.0,100", // line 3: non-numeric id
  "2,10,7.5,100", // line 4: rating out of range
  "2,11,,100", // line 5: missing rating
  "",
  "3,12,0.5,100",
  "3", // line 8: missing fields
  '"4","13","4.5","101"', // quoted fields
  " 5 ,14,4.,102", // spaces around an id, "4." as a rating
  "5,15,3.5", // no timestamp
  "5,16,2.5,103,extra", // one field too many (ignored, as parseRatings does)
  '6,"17,3.0,104', // an unclosed quote: bad, and only this line
  "6,18,0005,abc", // leading zeros; a timestamp that is no number
  "7,19,0.25,105", // below 0.5
  "99999999999,20,3.0,106", // an id above 32 bits
  "  ",
  "8,21,5,107",
];

/** parseRatings' rows as the reader's columns (NaN for a missing timestamp). */
function expected(text: string) {
  const report = parseRatings(text, { maxBadShare: 1 });
  return {
    userIds: report.rows.map((r) => r.userId),
    movieIds: report.rows.map((r) => r.movieId),
    ratings: report.rows.map((r) => Math.fround(r.rating)),
    timestamps: report.rows.map((r) => r.timestamp ?? Number.NaN),
    bad: report.bad,
    total: report.total,
  };
}
const columns = (r: StreamedRatings) => ({
  userIds: Array.from(r.userIds),
  movieIds: Array.from(r.movieIds),
  ratings: Array.from(r.ratings),
  timestamps: Array.from(r.timestamps ?? []),
  bad: r.bad,
  total: r.total,
});

describe("readRatingsStream", () => {
  it("gives parseRatings' rows and bad rows for every line ending and chunk size", async () => {
    const dir = tmp();
    for (const eol of ["\n", "\r\n", "\r"]) {
      const text = MESSY.join(eol) + eol;
      const want = expected(text);
      // The id above 32 bits is the one documented difference: the reader reports it.
      const big = want.userIds.indexOf(99999999999);
      expect(big).toBeGreaterThan(-1);
      for (const key of ["userIds", "movieIds", "ratings", "timestamps"] as const)
        want[key].splice(big, 1);
      const file = write(dir, text);
      for (const chunkBytes of [1, 2, 3, 7, 64, undefined]) {
        const got = columns(
          await readRatingsStream(file, { maxBadShare: 1, timestamps: true, chunkBytes }),
        );
        expect(got.userIds).toEqual(want.userIds);
        expect(got.movieIds).toEqual(want.movieIds);
        expect(got.ratings).toEqual(want.ratings);
        expect(got.timestamps).toEqual(want.timestamps);
        expect(got.total).toBe(want.total);
        expect(got.bad.filter((b) => !b.reason.includes("above"))).toEqual(want.bad);
      }
    }
  });

  it("reports bad rows by line number and reason", async () => {
    const got = await readRatingsStream(write(tmp(), MESSY.join("\r\n")), { maxBadShare: 1 });
    expect(got.bad.map((b) => [b.line, b.reason])).toEqual([
      [3, 'movieId "x7" is not a whole number'],
      [4, 'rating "7.5" is outside 0.5-5'],
      [5, "missing field"],
      [8, "missing field"],
      [13, "quoted field unterminated (a row must be on one line)"],
      [15, 'rating "0.25" is outside 0.5-5'],
      [16, "userId 99999999999 is above 2147483647"],
    ]);
    expect(got.badCount).toBe(7);
    expect(got.timestamps).toBeUndefined();
    expect(Array.from(got.userIds)).toEqual([1, 3, 4, 5, 5, 5, 6, 8]);
  });

  it("fails a file with too many bad rows, saying which lines and how to fix it", async () => {
    const dir = tmp();
    const rows = Array.from({ length: 3000 }, (_, i) => (i % 2 ? `${i},5,3.5,0` : `${i},5,six,0`));
    const file = write(dir, ["userId,movieId,rating,timestamp", ...rows].join("\n"));
    const error = await readRatingsStream(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedDataError);
    const message = (error as Error).message;
    expect(message).toContain("1500 of 3000 rows are malformed");
    expect(message).toContain('line 2: rating "six" is outside 0.5-5');
    expect(message).toMatch(/To fix it, correct or delete those lines/);
    // Only the first bad rows are kept, all are counted.
    expect((error as MalformedDataError).bad).toHaveLength(MAX_BAD_KEPT);
    expect((error as MalformedDataError).badCount).toBe(1500);
    // Within the allowed share it reads, keeping the good half.
    const half = await readRatingsStream(file, { maxBadShare: 0.5 });
    expect(half.ratings).toHaveLength(1500);
  });

  it("rejects a missing file, a wrong header and a file with no line breaks, saying why", async () => {
    const dir = tmp();
    await expect(readRatingsStream(path.join(dir, "nope.csv"))).rejects.toThrow(
      /nope\.csv not found: give the path of a MovieLens ratings\.csv/,
    );
    await expect(readRatingsStream(write(dir, "user,item,score\n1,2,3\n"))).rejects.toThrow(
      /line 1: header must name userId, movieId and rating \(found user,item,score\)/,
    );
    await expect(readRatingsStream(write(dir, ""))).rejects.toThrow(/header must name/);
    const blob = Buffer.alloc(3 << 20, 65);
    await expect(readRatingsStream(write(dir, blob), { chunkBytes: 1 << 16 })).rejects.toThrow(
      /line 1 is longer than 1048576 bytes, so this is not a ratings\.csv/,
    );
  });

  it("stops after `limit` good rows", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `${i},${i + 1},4.5,0`);
    const file = write(tmp(), ["userId,movieId,rating,timestamp", ...rows].join("\n"));
    const got = await readRatingsStream(file, { limit: 123, chunkBytes: 100 });
    expect(got.ratings).toHaveLength(123);
    expect(got.userIds[122]).toBe(122);
  });

  it("finds ML-25M under LESSON4_SOURCES_DIR, then in the data folder", () => {
    const sources = tmp();
    const data = tmp();
    const config = { sourcesDir: sources, dataDir: data };
    expect(findMovieLens25m(config)).toBeNull();
    const inData = path.join(data, "ml-25m", "ratings.csv");
    fs.mkdirSync(path.dirname(inData), { recursive: true });
    fs.writeFileSync(inData, "userId,movieId,rating\n");
    expect(findMovieLens25m(config)).toBe(inData);
    const shared = path.join(sources, "data", "ml-25m", "ratings.csv");
    fs.mkdirSync(path.dirname(shared), { recursive: true });
    fs.writeFileSync(shared, "userId,movieId,rating\n");
    expect(findMovieLens25m(config)).toBe(shared);
  });
});

describe("writeSyntheticRatings", () => {
  const shape = { users: 300, movies: 120, ratings: 9000, seed: 3 };

  it("writes exactly the users, movies and ratings asked for, each user's movies once", async () => {
    const file = path.join(tmp(), "ratings.csv");
    await writeSyntheticRatings(file, shape);
    const got = await readRatingsStream(file, { maxBadShare: 0 });
    expect(got.ratings).toHaveLength(9000);
    expect(new Set(got.userIds).size).toBe(300);
    expect(new Set(got.movieIds).size).toBe(120);
    const pairs = new Set(Array.from(got.userIds, (u, i) => u * 1e6 + got.movieIds[i]));
    expect(pairs.size).toBe(9000);
    expect(got.ratings.every((r) => r >= 0.5 && r <= 5 && Number.isInteger(r * 2))).toBe(true);
    // Skewed: the busiest user rates far more than the typical one, and at least 20 each.
    const perUser = new Map<number, number>();
    for (const u of got.userIds) perUser.set(u, (perUser.get(u) ?? 0) + 1);
    const counts = [...perUser.values()].sort((a, b) => a - b);
    expect(counts[0]).toBeGreaterThanOrEqual(20);
    expect(counts[counts.length - 1]).toBeGreaterThan(2 * counts[counts.length >> 1]);
  });

  it("repeats with the same seed and changes with another", async () => {
    const dir = tmp();
    const [a, b, c] = ["a.csv", "b.csv", "c.csv"].map((f) => path.join(dir, f));
    await writeSyntheticRatings(a, shape);
    await writeSyntheticRatings(b, shape);
    await writeSyntheticRatings(c, { ...shape, seed: 4 });
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
    expect(fs.readFileSync(a).equals(fs.readFileSync(c))).toBe(false);
  });

  it("leaves no file, partial or temporary, when writing fails half-way", async () => {
    const dir = tmp();
    const file = path.join(dir, "ratings.csv");
    let during: string[] = [];
    const failing = writeSyntheticRatings(file, {
      users: 3000,
      movies: 500,
      ratings: 200_000,
      onProgress: () => {
        during = fs.readdirSync(dir);
        throw new Error("disk full (simulated)");
      },
    });
    await expect(failing).rejects.toThrow("disk full (simulated)");
    // While it wrote, only a temp file was there; after the failure, nothing.
    expect(during).toEqual([`ratings.csv.${process.pid}.tmp`]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses impossible counts before writing anything", async () => {
    const dir = tmp();
    const file = path.join(dir, "ratings.csv");
    await expect(
      writeSyntheticRatings(file, { users: 10, movies: 5, ratings: 51 }),
    ).rejects.toThrow(/ratings must be between users \(10.*\) and users x movies \(50.*\), not 51/);
    await expect(writeSyntheticRatings(file, { users: 0 })).rejects.toThrow(
      /users must be a whole number >= 1, not 0/,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("is written once under the data folder and then reused", async () => {
    const config = { dataDir: tmp() };
    const first = await ensureSyntheticRatings(shape, config);
    expect(first.generated).toBe(true);
    expect(first.file).toBe(path.join(config.dataDir, syntheticFolder(shape), "ratings.csv"));
    const again = await ensureSyntheticRatings(shape, config);
    expect(again).toMatchObject({ file: first.file, generated: false });
    expect(syntheticFolder()).toBe("movielens-synthetic-25m");
    expect(syntheticFolder(shape)).not.toBe("movielens-synthetic-25m");
  });
});

describe("typed columns through IdIndex, the split and fitCollab", () => {
  it("IdIndex.of builds the index new IdIndex([...a, ...b]) builds, dense ids or not", () => {
    for (const [a, b] of [
      [Int32Array.from([50, 7, 1000, 7, 3]), Int32Array.from([8, 50])],
      [Float64Array.from([2 ** 40, 7, 1.5]), null],
    ] as const) {
      const ref = new IdIndex([...a, ...(b ?? [])]);
      const index = IdIndex.of(a, b);
      expect(index.ids).toEqual(ref.ids);
      const probe = [...a, -1, 9, 2.5, 2 ** 40, 1e9];
      expect(Array.from(index.indices(probe))).toEqual(Array.from(ref.indices(probe)));
      expect(probe.map((id) => index.index(id))).toEqual(probe.map((id) => ref.index(id)));
    }
  });

  it("splitColumns puts the rows randomSplit puts in each part", () => {
    const n = 1000;
    const cols = {
      userIds: Int32Array.from({ length: n }, (_, i) => i),
      movieIds: Int32Array.from({ length: n }, (_, i) => 2 * i),
      ratings: Float32Array.from({ length: n }, (_, i) => i / 4),
    };
    const rows = Array.from({ length: n }, (_, i) => i);
    const ref = randomSplit(rows, 0.2, 7);
    const got = splitColumns(cols, 0.2, 7);
    expect(Array.from(got.valid.userIds)).toEqual(ref.valid);
    expect(Array.from(got.train.movieIds)).toEqual(ref.train.map((i) => 2 * i));
    expect(Array.from(got.train.ratings)).toEqual(ref.train.map((i) => i / 4));
  });

  it("fitChunkRows keeps whole batches and at most 4M rows per model.fit", () => {
    expect(fitChunkRows(1024)).toBe(4_194_304);
    expect(fitChunkRows(64)).toBe(4_194_304);
    expect(fitChunkRows(1000)).toBe(4_194_000);
    expect(fitChunkRows(3, 10)).toBe(9);
    expect(fitChunkRows(50, 10)).toBe(50);
  });

  it("fitCollab trains the same model on typed columns as on rating records", async () => {
    const file = path.join(tmp(), "ratings.csv");
    await writeSyntheticRatings(file, { users: 60, movies: 40, ratings: 1500, seed: 5 });
    const cols = await readRatingsStream(file, { timestamps: true });
    const records = Array.from(cols.ratings, (rating, i) => ({
      userId: cols.userIds[i],
      movieId: cols.movieIds[i],
      rating,
    }));
    const { train, valid } = splitColumns(cols, 0.2, 1);
    const split = randomSplit(records, 0.2, 1);
    const options = { factors: 4, schedule: [{ lr: 0.01, epochs: 2 }], batchSize: 64 };
    const a = await fitCollab(train, { ...options, validation: valid });
    const b = await fitCollab(split.train, { ...options, validation: split.valid });
    try {
      expect(a.history.map((h) => h.valRmse)).toEqual(b.history.map((h) => h.valRmse));
      expect(a.users.ids).toEqual(b.users.ids);
      expect(a.recommend(3, 5)).toEqual(b.recommend(3, 5));
    } finally {
      a.dispose();
      b.dispose();
    }
    await expect(
      fitCollab({ ...train, ratings: train.ratings.subarray(1) }, options),
    ).rejects.toThrow(/the rating columns differ in length/);
  });
});
