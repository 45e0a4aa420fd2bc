/** A malformed row in ratings.csv is reported on its own line and never swallows the good rows after it. */
import { describe, expect, it, onTestFinished } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadMovieLens, parseRatings, type Rating } from "../lib/datasets/movielens";

const offline: typeof fetch = async () => {
  throw new TypeError("fetch failed");
};

/** 199 good rows (line 2 to 200 of the file), one of them with quoted fields, as CSV lines. */
function goodRows(): { rows: Rating[]; lines: string[] } {
  const rows: Rating[] = [];
  const lines: string[] = [];
  for (let i = 0; i < 199; i++) {
    const row = {
      userId: 1 + (i % 13),
      movieId: 100 + i,
      rating: 0.5 + (i % 10) * 0.5,
      timestamp: 9e8 + i,
    };
    rows.push(row);
    // The first good row after the bad ones has quoted fields (a quote there once closed a stray one above).
    const rating = row.rating.toFixed(1);
    const quoted = `"${row.userId}","${row.movieId}",${rating},"${row.timestamp}"`;
    lines.push(i === 99 ? quoted : `${row.userId},${row.movieId},${rating},${row.timestamp}`);
  }
  return { rows, lines };
}

describe("ratings.csv with malformed rows in the middle", () => {
  it("reports each bad row by file line and reason, keeps every good row (CRLF, quotes)", async () => {
    const { rows, lines } = goodRows();
    const bad = ['7,"12a,4.0,964982703', "8,12", "9,13,9.5,964982703"];
    const file = [
      "userId,movieId,rating,timestamp",
      ...lines.slice(0, 99),
      ...bad,
      ...lines.slice(99),
    ];
    expect(file.slice(100, 103)).toEqual(bad); // lines 101-103 of the file (1-based)
    const sources = fs.mkdtempSync(path.join(os.tmpdir(), "reliability-ratings-"));
    onTestFinished(() => fs.rmSync(sources, { recursive: true, force: true }));
    const folder = path.join(sources, "data", "ml-latest-small");
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, "ratings.csv"), file.join("\r\n") + "\r\n");
    const movies = [
      "movieId,title,genres",
      '100,"Sting, The (1973)",Comedy|Crime',
      "101,Heat (1995),Action",
    ];
    fs.writeFileSync(path.join(folder, "movies.csv"), movies.join("\r\n") + "\r\n");
    const config = { sourcesDir: sources, dataDir: path.join(sources, "unused") };
    const data = await loadMovieLens({
      config,
      fetchImpl: offline,
      log: () => {},
      maxBadShare: 0.05,
    });

    expect(data.ratings).toHaveLength(199);
    expect(data.ratings).toEqual(rows);
    expect(data.badRows.ratings.map((b) => b.line)).toEqual([101, 102, 103]);
    expect(data.badRows.ratings.map((b) => b.text)).toEqual(bad);
    const [quote, short, high] = data.badRows.ratings.map((b) => b.reason);
    expect(quote).toMatch(/quoted field unterminated \(a row must be on one line\)/);
    expect(short).toBe("missing field");
    expect(high).toBe('rating "9.5" is outside 0.5-5');
    expect(data.movies).toEqual([
      { movieId: 100, title: "Sting, The (1973)", genres: "Comedy|Crime" },
      { movieId: 101, title: "Heat (1995)", genres: "Action" },
    ]);
    expect(data.badRows.movies).toEqual([]);
  });

  it("counts lines the same with \\n, \\r\\n and lone \\r endings, blank lines included", () => {
    const lines = ["userId,movieId,rating", "1,2,3.5", "", "1,x,3.0", '"2","3","4.5"', "2,4,"];
    for (const eol of ["\n", "\r\n", "\r"]) {
      const report = parseRatings(lines.join(eol), { maxBadShare: 1 });
      expect(report.rows.map((r) => r.movieId)).toEqual([2, 3]);
      expect(report.bad.map((b) => [b.line, b.reason])).toEqual([
        [4, 'movieId "x" is not a whole number'],
        [6, "missing field"],
      ]);
      expect(report.total).toBe(4);
    }
  });
});
