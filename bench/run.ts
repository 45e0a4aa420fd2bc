/**
 * `npm run bench [-- NAME ...] [--reps N] [--warmup N]`: discovers bench/*.bench.ts, runs each
 * selected benchmark's setup, warm-up and timed repetitions, then its PyTorch peer and its Keras
 * peer (each with its own warm-up, in the same run), and prints a table (ours, PyTorch's and
 * Keras' seconds, and ours as a multiple of each) plus one JSON line each. A peer that cannot run
 * is skipped, saying why.
 * Repetitions also come from LESSON4_BENCH_REPS / LESSON4_BENCH_WARMUP (defaults 5 and 1).
 *
 * `npm run bench -- lessons-full` times notebooks 04 and 05 whole, by stage, from an empty data
 * folder (bench/lessons-full.ts; full mode, about 25 minutes; LESSON4_MODE=fast to try it). It
 * runs only when named.
 */
import * as fs from "fs";
import * as path from "path";
import type { Benchmark, Measurement, PeerResult } from "./types";
import { initBackend, type BackendInfo } from "../lib/engine/backend";
import { formatLessons, timeLessons } from "./lessons-full";

interface Options {
  names: string[];
  reps: number;
  warmup: number;
}

function count(text: string | undefined, what: string, fallback: number, min: number): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${what} must be a whole number >= ${min}, not "${text}"`);
  return n;
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  const names: string[] = [];
  let reps = env.LESSON4_BENCH_REPS;
  let warmup = env.LESSON4_BENCH_WARMUP;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.split("=", 2);
    if (flag === "--reps" || flag === "--warmup") {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`${flag} needs a number, e.g. ${flag} 3`);
      if (flag === "--reps") reps = value;
      else warmup = value;
    } else if (arg.startsWith("--"))
      throw new Error(`unknown option ${arg} (use NAME filters, --reps N, --warmup N)`);
    else names.push(arg);
  }
  return {
    names,
    reps: count(reps, "--reps / LESSON4_BENCH_REPS", 5, 1),
    warmup: count(warmup, "--warmup / LESSON4_BENCH_WARMUP", 1, 0),
  };
}

async function discover(dir: string, names: string[]): Promise<Benchmark[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".bench.ts"))
    .sort();
  const found: Benchmark[] = [];
  for (const file of files) {
    const mod = (await import(path.join(dir, file))) as {
      default?: Benchmark | { default?: Benchmark };
      benchmarks?: Benchmark[];
    };
    // tsx's CommonJS interop can wrap the default export once more.
    const main =
      mod.default && "run" in mod.default
        ? (mod.default as Benchmark)
        : (mod.default as { default?: Benchmark } | undefined)?.default;
    const list = [...(main ? [main] : []), ...(mod.benchmarks ?? [])];
    if (!list.length)
      throw new Error(
        `${file} exports no benchmark (export default a Benchmark, or export const benchmarks = [...])`,
      );
    found.push(...list);
  }
  // A name that is a benchmark's whole name selects that one ("collab-bias", not collab-bias-lazy).
  const picks = (b: Benchmark, n: string) =>
    found.some((f) => f.name === n) ? b.name === n : b.name.includes(n);
  return names.length ? found.filter((b) => names.some((n) => picks(b, n))) : found;
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** The mean of the numbers, or null when there are none (a benchmark without a quality). */
const mean = (xs: Array<number | null>): number | null => {
  const values = xs.filter((x): x is number => x !== null);
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
};

const isMeasurement = (p: PeerResult): p is Measurement => "seconds" in p;
const round = (x: number | null, digits = 4) => (x === null ? null : Number(x.toFixed(digits)));

export interface BenchResult {
  name: string;
  backend: string;
  seconds_median: number | null;
  /** The PyTorch peer's (named as before the Keras peer came, so older JSON lines compare). */
  peer_seconds_median: number | null;
  /** Ours / PyTorch's median seconds. */
  ratio: number | null;
  quality: number | null;
  quality_label: string;
  peer_quality: number | null;
  /**
   * The mean quality over the repetitions, ours and the peer's: one epoch's validation RMSE at the lesson's lr 1e-2
   * swings by 0.01-0.03 from epoch to epoch for both, so the last repetition alone compares two noisy points.
   */
  quality_mean: number | null;
  peer_quality_mean: number | null;
  repetitions: number;
  max_rss_mb: number;
  peer_max_rss_mb: number | null;
  peer_skipped?: string;
  extra?: Record<string, number | string>;
  /** The peer's last measurement's extra figures (e.g. its threads). */
  peer_extra?: Record<string, number | string>;
  /** The Keras peer's figures, as the PyTorch peer's above. */
  keras_seconds_median: number | null;
  /** Ours / Keras' median seconds. */
  keras_ratio: number | null;
  keras_quality: number | null;
  keras_quality_mean: number | null;
  keras_max_rss_mb: number | null;
  keras_skipped?: string;
  keras_extra?: Record<string, number | string>;
  /** Where the work differs between ours and a peer (Benchmark.note). */
  note?: string;
}

/** The backend's name, with its thread count where it runs more than one: "wasm x2". */
function backendLabel(info: BackendInfo): string {
  return info.threads && info.threads > 1 ? `${info.name} x${info.threads}` : info.name;
}

type PeerFn = Benchmark["peer"];

/** One peer's repetitions, or why there are none; a peer that throws is skipped (never fails). */
async function measurePeer(
  label: string,
  fn: PeerFn,
  reps: number,
  log: (line: string) => void,
): Promise<{ runs: Measurement[]; skipped?: string }> {
  if (!fn) return { runs: [], skipped: `this benchmark has no ${label} peer` };
  let result: Awaited<ReturnType<NonNullable<PeerFn>>>;
  try {
    result = await fn(reps);
  } catch (error) {
    result = {
      skipped: `the ${label} peer failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  let runs: Measurement[] = [];
  let skipped: string | undefined;
  if ("skipped" in result) skipped = result.skipped;
  else {
    runs = result.filter(isMeasurement);
    const why = result.find((p): p is { skipped: string } => "skipped" in p);
    if (!runs.length) skipped = why?.skipped ?? `the ${label} peer reported no measurements`;
  }
  if (skipped) log(`${label} peer skipped: ${skipped}`);
  else
    runs.forEach((m, i) =>
      log(
        `${label} peer run ${i + 1}: ${m.seconds.toFixed(3)} s${m.quality === null ? "" : `, ${m.quality.toFixed(4)}`}`,
      ),
    );
  return { runs, skipped };
}

/** A peer's median seconds, qualities and peak RSS (the largest its repetitions reported). */
function summarise(runs: Measurement[]) {
  const last = runs[runs.length - 1];
  const rss = runs.map((r) => Number(r.extra?.max_rss_mb)).filter((x) => Number.isFinite(x));
  return {
    seconds: median(runs.map((r) => r.seconds)),
    quality: round(last?.quality ?? null),
    qualityMean: round(mean(runs.map((r) => r.quality))),
    rssMb: rss.length ? Math.round(Math.max(...rss)) : null,
    extra: last?.extra,
  };
}

async function runOne(bench: Benchmark, options: Options): Promise<BenchResult> {
  const log = (line: string) => console.log(`[${bench.name}] ${line}`);
  const engine = await initBackend(undefined, { threads: bench.threads });
  await bench.setup?.();
  for (let i = 0; i < options.warmup; i++) {
    const m = await bench.run();
    log(`warm-up ${i + 1}: ${m.seconds.toFixed(3)} s`);
  }
  const runs: Measurement[] = [];
  for (let i = 0; i < options.reps; i++) {
    const m = await bench.run();
    runs.push(m);
    log(
      `run ${i + 1}/${options.reps}: ${m.seconds.toFixed(3)} s${m.quality === null ? "" : `, ${bench.qualityLabel ?? "quality"} ${m.quality.toFixed(4)}`}`,
    );
  }
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  // The peers run one after the other, after ours: none of the three competes for the cores.
  const torch = await measurePeer("PyTorch", bench.peer?.bind(bench), options.reps, log);
  const keras = await measurePeer("Keras", bench.keras?.bind(bench), options.reps, log);
  await bench.teardown?.();

  const seconds = median(runs.map((r) => r.seconds));
  const t = summarise(torch.runs);
  const k = summarise(keras.runs);
  const ratio = (peer: number | null) =>
    seconds !== null && peer ? round(seconds / peer, 3) : null;
  // Benchmarks that train continue across repetitions, so the quality reached is the last repetition's.
  const last = runs[runs.length - 1];
  return {
    name: bench.name,
    backend: bench.backend?.() ?? backendLabel(engine),
    seconds_median: round(seconds),
    peer_seconds_median: round(t.seconds),
    ratio: ratio(t.seconds),
    quality: round(last?.quality ?? null),
    quality_label: bench.qualityLabel ?? "quality",
    peer_quality: t.quality,
    quality_mean: round(mean(runs.map((r) => r.quality))),
    peer_quality_mean: t.qualityMean,
    repetitions: runs.length,
    max_rss_mb: Math.round(maxRssMb),
    peer_max_rss_mb: t.rssMb,
    ...(torch.skipped ? { peer_skipped: torch.skipped } : {}),
    ...(last?.extra ? { extra: last.extra } : {}),
    ...(t.extra ? { peer_extra: t.extra } : {}),
    keras_seconds_median: round(k.seconds),
    keras_ratio: ratio(k.seconds),
    keras_quality: k.quality,
    keras_quality_mean: k.qualityMean,
    keras_max_rss_mb: k.rssMb,
    ...(keras.skipped ? { keras_skipped: keras.skipped } : {}),
    ...(k.extra ? { keras_extra: k.extra } : {}),
    ...(bench.note ? { note: bench.note } : {}),
  };
}

/** The table: our time, each peer's, and ours as a multiple of each (below 1 = we are faster). */
export function formatTable(results: BenchResult[]): string {
  const fmt = (x: number | null | undefined, digits: number) =>
    x === null || x === undefined ? "-" : x.toFixed(digits);
  const notes: string[] = [];
  const rows = results.map((r) => {
    const marks: string[] = [];
    const footnote = (text: string) => {
      notes.push(text);
      marks.push(`[${notes.length}]`);
    };
    if (r.note) footnote(`${r.name}: ${r.note}`);
    if (r.peer_skipped) footnote(`${r.name}: PyTorch skipped: ${r.peer_skipped}`);
    if (r.keras_skipped) footnote(`${r.name}: Keras skipped: ${r.keras_skipped}`);
    return [
      r.name,
      r.backend,
      fmt(r.seconds_median, 3),
      fmt(r.peer_seconds_median, 3),
      fmt(r.keras_seconds_median, 3),
      fmt(r.ratio, 2),
      fmt(r.keras_ratio, 2),
      `${fmt(r.quality, 4)} / ${fmt(r.peer_quality, 4)} / ${fmt(r.keras_quality, 4)}`,
      `${fmt(r.quality_mean, 4)} / ${fmt(r.peer_quality_mean, 4)} / ${fmt(r.keras_quality_mean, 4)}`,
      `${r.max_rss_mb} / ${r.peer_max_rss_mb ?? "-"} / ${r.keras_max_rss_mb ?? "-"}`,
      marks.join(" "),
    ];
  });
  const head = [
    "benchmark",
    "backend",
    "ours s",
    "PyTorch s",
    "Keras s",
    "x PyTorch",
    "x Keras",
    "quality, last run (ours / PyTorch / Keras)",
    "mean over runs",
    "peak RSS MB (ours / PyTorch / Keras)",
    "notes",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [
    "",
    line(head),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
    "(s = median seconds per repetition; x PyTorch, x Keras = ours / theirs, below 1 = we are faster;",
    " peak RSS of this process is cumulative: it includes every benchmark run before)",
    ...notes.map((n, i) => `[${i + 1}] ${n}`),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  // "lessons-full" is no benchmark file: it times notebooks 04 and 05 whole (lessons-full.ts),
  // and only when named.
  const lessonsFull = options.names.includes("lessons-full");
  options.names = options.names.filter((n) => n !== "lessons-full");
  if (lessonsFull && !options.names.length) {
    const report = await timeLessons();
    console.log(formatLessons(report));
    console.log(JSON.stringify(report));
    return;
  }
  const benches = await discover(__dirname, options.names);
  if (!benches.length) {
    console.error(
      `No benchmark matches ${options.names.join(", ")}. Benchmarks are bench/*.bench.ts.`,
    );
    process.exit(1);
  }
  await initBackend();
  console.log(
    `${benches.length} benchmark(s): ${benches.map((b) => b.name).join(", ")} · warm-up ${options.warmup}, repetitions ${options.reps}`,
  );
  const results: BenchResult[] = [];
  const skipped: Array<{ name: string; skipped: string }> = [];
  for (const bench of benches) {
    try {
      results.push(await runOne(bench, options));
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      console.log(`[${bench.name}] skipped: ${why}`);
      skipped.push({ name: bench.name, skipped: why });
      await bench.teardown?.().catch(() => undefined);
    }
  }
  console.log(formatTable(results));
  for (const r of [...results, ...skipped]) console.log(JSON.stringify(r));
  if (lessonsFull) {
    const report = await timeLessons();
    console.log(formatLessons(report));
    console.log(JSON.stringify(report));
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
