/**
 * fitCollab at MovieLens 25M's size, measured (issue 22): finds ml-25m's ratings.csv or generates
 * one of its shape (written once to data/movielens-synthetic-25m), reads it as a stream into typed
 * columns, splits it 80/20 and trains each model for the given epochs, printing parse time, epoch
 * times and the process's peak RSS after each stage.
 *
 *   npx tsx scripts/measure-collab-25m.ts [--ratings N] [--epochs E] [--models bias,nn]
 *                                         [--synthetic] [--papaparse]
 *
 * --ratings N: a generated set scaled to N ratings (users and movies scaled alike), or the first
 * N rows of the real file; --synthetic: ignore a real ml-25m; --papaparse: also time papaparse's
 * streaming parser on the same file, to compare with the reader's.
 */
import * as fs from "fs";
import * as os from "os";
import Papa from "papaparse";
import { readConfig } from "../lib/config";
import { fitCollab } from "../lib/collab/fit";
import type { CollabKind } from "../lib/collab/model";
import { initBackend } from "../lib/engine/backend";
import { findMovieLens25m, readRatingsStream } from "../lib/datasets/ratings-stream";
import { splitColumns } from "../lib/datasets/ratings-split";
import { ML25M_SHAPE, ensureSyntheticRatings } from "../lib/datasets/ratings-synthetic";

interface Args {
  ratings: number | null;
  epochs: number;
  models: CollabKind[];
  synthetic: boolean;
  papaparse: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    ratings: null,
    epochs: 1,
    models: ["bias"],
    synthetic: false,
    papaparse: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const count = (v: string, min: number) => {
      const n = Number(v.replace(/_/g, ""));
      if (!Number.isSafeInteger(n) || n < min)
        throw new Error(`${flag} must be a whole number >= ${min}, not "${v}"`);
      return n;
    };
    if (flag === "--ratings") args.ratings = count(value(), 1000);
    else if (flag === "--epochs") args.epochs = count(value(), 1);
    else if (flag === "--models") {
      const models = value().split(",");
      const wrong = models.filter((m) => !["dot", "bias", "nn"].includes(m));
      if (wrong.length) throw new Error(`--models takes dot, bias, nn; not ${wrong.join(", ")}`);
      args.models = models as CollabKind[];
    } else if (flag === "--synthetic") args.synthetic = true;
    else if (flag === "--papaparse") args.papaparse = true;
    else
      throw new Error(
        `unknown option ${argv[i]} (use --ratings N, --epochs E, --models bias,nn, --synthetic, --papaparse)`,
      );
  }
  return args;
}

/** Peak resident memory of this process so far, MB (VmHWM; getrusage where /proc is absent). */
function peakRssMb(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {}
  return process.resourceUsage().maxRSS / 1024;
}

const rows: string[][] = [];
function record(stage: string, seconds: number, note = ""): void {
  const load = os.loadavg()[0].toFixed(2);
  const row = [stage, seconds.toFixed(1), peakRssMb().toFixed(0), load, note];
  rows.push(row);
  console.log(
    `${stage}: ${row[1]} s, peak RSS ${row[2]} MB, load ${load}${note ? ` (${note})` : ""}`,
  );
}

/** papaparse's own streaming parse of the file into typed columns (no line numbers), for comparison. */
async function papaparseSeconds(file: string): Promise<{ seconds: number; rows: number }> {
  const started = Date.now();
  let n = 0;
  let users = new Int32Array(1 << 20);
  let movies = new Int32Array(1 << 20);
  let ratings = new Float32Array(1 << 20);
  await new Promise<void>((resolve, reject) =>
    Papa.parse<string[]>(fs.createReadStream(file), {
      header: false,
      skipEmptyLines: true,
      chunk: (result) => {
        for (const row of result.data) {
          if (row[0] === "userId") continue;
          if (n === users.length) {
            const grow = <A extends Int32Array | Float32Array>(a: A, b: A) => {
              b.set(a);
              return b;
            };
            users = grow(users, new Int32Array(2 * n));
            movies = grow(movies, new Int32Array(2 * n));
            ratings = grow(ratings, new Float32Array(2 * n));
          }
          users[n] = Number(row[0]);
          movies[n] = Number(row[1]);
          ratings[n++] = Number(row[2]);
        }
      },
      complete: () => resolve(),
      error: (e: Error) => reject(e),
    }),
  );
  return { seconds: (Date.now() - started) / 1000, rows: n };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = readConfig();
  const real = args.synthetic ? null : findMovieLens25m(config);
  let file: string;
  let limit: number | undefined;
  let t = Date.now();
  if (real) {
    file = real;
    limit = args.ratings ?? undefined;
    console.log(`MovieLens 25M: ${file}${limit ? ` (first ${limit} ratings)` : ""}`);
  } else {
    const n = args.ratings ?? ML25M_SHAPE.ratings;
    const share = n / ML25M_SHAPE.ratings;
    const shape = {
      ratings: n,
      users: Math.max(1, Math.round(ML25M_SHAPE.users * share)),
      movies: Math.max(1, Math.round(ML25M_SHAPE.movies * share)),
      seed: config.seed,
    };
    console.log(
      `generated ratings: ${shape.users} users, ${shape.movies} movies, ${n} ratings (seed ${config.seed})`,
    );
    const made = await ensureSyntheticRatings(
      {
        ...shape,
        onProgress: (users, written) => {
          if (users % 20_000 < 200) process.stdout.write(`  ${written} ratings written\r`);
        },
      },
      config,
    );
    file = made.file;
    if (made.generated) record("generate", made.seconds, file);
    else console.log(`  reusing ${file}`);
  }
  const mb = fs.statSync(file).size / 2 ** 20;

  t = Date.now();
  let cols: Awaited<ReturnType<typeof readRatingsStream>> | null = await readRatingsStream(file, {
    limit,
  });
  record(
    "parse (stream, typed columns)",
    (Date.now() - t) / 1000,
    `${cols.ratings.length} ratings, ${mb.toFixed(0)} MB, ${cols.badCount} bad rows`,
  );
  if (args.papaparse) {
    const papa = await papaparseSeconds(file);
    record("parse (papaparse stream, for comparison)", papa.seconds, `${papa.rows} rows`);
  }

  t = Date.now();
  const { train, valid } = splitColumns(cols, 0.2, config.seed);
  cols = null; // the split holds its own copies: let the whole-file columns go
  record(
    "split 80/20",
    (Date.now() - t) / 1000,
    `${train.ratings.length} train, ${valid.ratings.length} valid`,
  );

  const backend = await initBackend();
  console.log(`backend: ${backend.name}`);
  for (const model of args.models) {
    t = Date.now();
    const result = await fitCollab(train, {
      model,
      schedule: [{ lr: 1e-3, epochs: args.epochs }],
      validation: valid,
      seed: config.seed,
      onEpoch: (r) =>
        record(
          `${model} epoch ${r.epoch + 1}`,
          r.seconds,
          `loss ${r.loss.toFixed(4)}, validation RMSE ${r.valRmse?.toFixed(4)}`,
        ),
    });
    record(`${model}: fitCollab call`, (Date.now() - t) / 1000, "indexing, epochs, validation");
    result.dispose();
  }

  const width = [0, 1, 2, 3, 4].map((i) =>
    Math.max(
      ["stage", "s", "peak RSS MB", "load", "note"][i].length,
      ...rows.map((r) => r[i].length),
    ),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(width[i]))
      .join("  ")
      .trimEnd();
  console.log(`\n${line(["stage", "s", "peak RSS MB", "load", "note"])}`);
  console.log(width.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
  console.log(
    "(peak RSS: the process's high-water mark so far, VmHWM; load: 1-minute load average)",
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
