/** MovieLens loading: parsing with bad rows by line, id round trips, seeded splits, offline downloads. */
import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  IdIndex,
  MalformedDataError,
  generateRatings,
  loadMovieLens,
  locateMovieLens,
  parseMovies,
  parseRatings,
  randomSplit,
} from "../lib/datasets/movielens";
import { DownloadError } from "../lib/datasets/sources";
import { zipSync, strToU8 } from "fflate";
import { createHash } from "crypto";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "movielens-test-"));
const offline: typeof fetch = async () => {
  throw new TypeError("fetch failed", { cause: { code: "ENOTFOUND" } });
};

describe("parseRatings", () => {
  const text = [
    "userId,movieId,rating,timestamp",
    "1,10,4.0,100",
    "1,x7,3.0,100", // line 3: non-numeric id
    "2,10,7.5,100", // line 4: rating out of range
    "2,11,,100", // line 5: missing rating
    "",
    "3,12,0.5,100",
    "3", // line 8: missing fields
    "",
  ].join("\n");

  it("keeps good rows and reports bad ones with their line numbers and reasons", () => {
    const report = parseRatings(text, { maxBadShare: 1 });
    expect(report.rows).toEqual([
      { userId: 1, movieId: 10, rating: 4, timestamp: 100 },
      { userId: 3, movieId: 12, rating: 0.5, timestamp: 100 },
    ]);
    expect(report.total).toBe(6);
    expect(report.bad.map((b) => b.line)).toEqual([3, 4, 5, 8]);
    expect(report.bad[0].reason).toMatch(/movieId "x7" is not a whole number/);
    expect(report.bad[1].reason).toMatch(/outside 0.5-5/);
    expect(report.bad[2].reason).toMatch(/missing field/);
  });

  it("fails when more than the allowed share is bad, naming lines", () => {
    expect(() => parseRatings(text, { maxBadShare: 0.5 })).toThrow(MalformedDataError);
    expect(() => parseRatings(text, { maxBadShare: 0.5 })).toThrow(
      /4 of 6 rows are malformed.*line 3/,
    );
    expect(() => parseRatings(text, { maxBadShare: 0.7 })).not.toThrow();
  });

  it("parses quoted movie titles with commas", () => {
    const movies = parseMovies(
      'movieId,title,genres\n11,"American President, The (1995)",Comedy|Drama\n',
    );
    expect(movies.rows).toEqual([
      { movieId: 11, title: "American President, The (1995)", genres: "Comedy|Drama" },
    ]);
  });
});

describe("IdIndex", () => {
  it("maps sparse ids to 0..n-1 and back, and unknown ids to -1", () => {
    const ids = [50, 7, 1000, 7, 3];
    const index = new IdIndex(ids);
    expect(index.size).toBe(4);
    expect(Array.from(index.indices(ids))).toEqual([2, 1, 3, 1, 0]);
    for (const id of ids) expect(index.id(index.index(id))).toBe(id);
    expect(index.index(8)).toBe(-1);
    expect(() => index.id(4)).toThrow(RangeError);
  });
});

describe("randomSplit", () => {
  const rows = Array.from({ length: 1000 }, (_, i) => i);
  it("is disjoint, complete, 80/20 and the same for the same seed", () => {
    const a = randomSplit(rows, 0.2, 7);
    expect(a.valid.length).toBe(200);
    expect(new Set([...a.train, ...a.valid]).size).toBe(1000);
    expect(a.train.filter((r) => a.valid.includes(r))).toEqual([]);
    expect(randomSplit(rows, 0.2, 7).valid).toEqual(a.valid);
    expect(randomSplit(rows, 0.2, 8).valid).not.toEqual(a.valid);
  });
});

describe("locating and downloading", () => {
  it("uses a folder under LESSON4_SOURCES_DIR when it has the files", async () => {
    const sources = tmp();
    fs.mkdirSync(path.join(sources, "data/ml-latest-small"), { recursive: true });
    fs.writeFileSync(
      path.join(sources, "data/ml-latest-small/ratings.csv"),
      "userId,movieId,rating,timestamp\n1,2,3.5,0\n",
    );
    fs.writeFileSync(
      path.join(sources, "data/ml-latest-small/movies.csv"),
      "movieId,title,genres\n2,Two (2000),Drama\n",
    );
    const data = await loadMovieLens({
      config: { sourcesDir: sources, dataDir: tmp() },
      fetchImpl: offline,
      log: () => {},
    });
    expect(data.source.kind).toBe("movielens");
    expect(data.banner).toBeNull();
    expect(data.ratingsDf.shape).toEqual([1, 3]);
    expect(data.movies[0].title).toBe("Two (2000)");
  });

  it("fails offline with instructions for placing the files by hand, leaving no partial file", async () => {
    const dataDir = tmp();
    const attempt = locateMovieLens({
      config: { sourcesDir: null, dataDir },
      fetchImpl: offline,
      log: () => {},
    });
    await expect(attempt).rejects.toThrow(DownloadError);
    await expect(
      locateMovieLens({ config: { sourcesDir: null, dataDir }, fetchImpl: offline, log: () => {} }),
    ).rejects.toThrow(
      /are you offline\?.*download https:\/\/files\.grouplens\.org\/datasets\/movielens\/ml-latest-small\.zip by hand and unzip it so that .*ratings\.csv and movies\.csv exist, or set LESSON4_SOURCES_DIR/,
    );
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it("a download that breaks off leaves no partial file", async () => {
    const dataDir = tmp();
    const broken: typeof fetch = async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(100));
          controller.error(new Error("connection reset"));
        },
      });
      return new Response(body, { headers: { "content-length": "5000" } });
    };
    await expect(
      locateMovieLens({ config: { sourcesDir: null, dataDir }, fetchImpl: broken, log: () => {} }),
    ).rejects.toThrow(/broke off after \d+ bytes/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  const zip = zipSync({
    "ml-latest-small/ratings.csv": strToU8("userId,movieId,rating,timestamp\n1,2,3.5,0\n"),
    "ml-latest-small/movies.csv": strToU8("movieId,title,genres\n2,Two (2000),Drama\n"),
  });
  const serve =
    (md5: string): typeof fetch =>
    async (input) =>
      String(input).endsWith(".md5")
        ? new Response(`MD5 (ml-latest-small.zip) = ${md5}\n`)
        : new Response(zip, { headers: { "content-length": String(zip.length) } });

  it("downloads, checks the MD5 and unpacks ratings.csv and movies.csv into data/", async () => {
    const dataDir = tmp();
    const lines: string[] = [];
    const where = await locateMovieLens({
      config: { sourcesDir: null, dataDir },
      fetchImpl: serve(createHash("md5").update(zip).digest("hex")),
      log: (l) => lines.push(l),
    });
    expect(where).toEqual({ folder: path.join(dataDir, "ml-latest-small"), origin: "download" });
    expect(fs.readFileSync(path.join(dataDir, "ml-latest-small/movies.csv"), "utf8")).toContain(
      "Two (2000)",
    );
    expect(lines.join("\n")).toMatch(/MD5 verified/);
    expect(
      (
        await locateMovieLens({
          config: { sourcesDir: null, dataDir },
          fetchImpl: offline,
          log: () => {},
        })
      ).origin,
    ).toBe("data");
  });

  it("rejects a download whose MD5 does not match and keeps nothing", async () => {
    const dataDir = tmp();
    await expect(
      locateMovieLens({
        config: { sourcesDir: null, dataDir },
        fetchImpl: serve("0".repeat(32)),
        log: () => {},
      }),
    ).rejects.toThrow(/corrupt \(MD5/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it("falls back to generated ratings with a banner when nothing is available", async () => {
    const data = await loadMovieLens({
      config: { sourcesDir: null, dataDir: tmp() },
      fetchImpl: offline,
      log: () => {},
    });
    expect(data.source.kind).toBe("generated");
    expect(data.banner).toMatch(/GENERATED DATA/);
    expect(data.ratings.length).toBeGreaterThan(10000);
    expect(data.ratings.every((r) => r.rating >= 0.5 && r.rating <= 5)).toBe(true);
  });
});

describe("generateRatings", () => {
  it("is seeded and has the stated noise around the truth", () => {
    const a = generateRatings({ users: 50, movies: 80, seed: 3, noise: 0.3 });
    expect(generateRatings({ users: 50, movies: 80, seed: 3, noise: 0.3 }).ratings).toEqual(
      a.ratings,
    );
    const resid = a.ratings.map((r) => r.rating - a.truth(r.userId, r.movieId));
    const sd = Math.sqrt(resid.reduce((s, x) => s + x * x, 0) / resid.length);
    expect(sd).toBeGreaterThan(0.25);
    expect(sd).toBeLessThan(0.35);
  });
});
