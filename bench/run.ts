/**
 * `npm run bench [-- NAME ...] [--reps N] [--warmup N]`: discovers bench/*.bench.ts, runs each selected
 * benchmark's setup, warm-up and timed repetitions, asks its peer, and prints a table plus one JSON line each.
 * Repetitions also come from LESSON4_BENCH_REPS / LESSON4_BENCH_WARMUP (defaults 5 and 1).
 */
import * as fs from "fs";
import * as path from "path";
import type { Benchmark, Measurement, PeerResult } from "./types";
import { initBackend, type BackendInfo } from "../lib/engine/backend";

interface Options {
  names: string[];
  reps: number;
  warmup: number;
}

function count(text: string | undefined, what: string, fallback: number, min: number): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be a whole number >= ${min}, not "${text}"`);
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
    } else if (arg.startsWith("--")) throw new Error(`unknown option ${arg} (use NAME filters, --reps N, --warmup N)`);
    else names.push(arg);
  }
  return { names, reps: count(reps, "--reps / LESSON4_BENCH_REPS", 5, 1), warmup: count(warmup, "--warmup / LESSON4_BENCH_WARMUP", 1, 0) };
}

async function discover(dir: string, names: string[]): Promise<Benchmark[]> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).sort();
  const found: Benchmark[] = [];
  for (const file of files) {
    const mod = (await import(path.join(dir, file))) as { default?: Benchmark | { default?: Benchmark }; benchmarks?: Benchmark[] };
    // tsx's CommonJS interop can wrap the default export once more.
    const main = mod.default && "run" in mod.default ? (mod.default as Benchmark) : (mod.default as { default?: Benchmark } | undefined)?.default;
    const list = [...(main ? [main] : []), ...(mod.benchmarks ?? [])];
    if (!list.length) throw new Error(`${file} exports no benchmark (export default a Benchmark, or export const benchmarks = [...])`);
    found.push(...list);
  }
  return names.length ? found.filter((b) => names.some((n) => b.name.includes(n))) : found;
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
  peer_seconds_median: number | null;
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
}

/** The backend's name, with its thread count where it runs more than one: "wasm x2". */
function backendLabel(info: BackendInfo): string {
  return info.threads && info.threads > 1 ? `${info.name} x${info.threads}` : info.name;
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
    log(`run ${i + 1}/${options.reps}: ${m.seconds.toFixed(3)} s${m.quality === null ? "" : `, ${bench.qualityLabel ?? "quality"} ${m.quality.toFixed(4)}`}`);
  }
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  let peerRuns: Measurement[] = [];
  let peerSkipped: string | undefined;
  if (!bench.peer) peerSkipped = "this benchmark has no peer";
  else {
    const peer = await bench.peer(options.reps);
    if ("skipped" in peer) peerSkipped = peer.skipped;
    else {
      peerRuns = peer.filter(isMeasurement);
      const skipped = peer.find((p): p is { skipped: string } => "skipped" in p);
      if (!peerRuns.length) peerSkipped = skipped?.skipped ?? "the peer reported no measurements";
    }
  }
  if (peerSkipped) log(`peer skipped: ${peerSkipped}`);
  else peerRuns.forEach((m, i) => log(`peer run ${i + 1}: ${m.seconds.toFixed(3)} s${m.quality === null ? "" : `, ${m.quality.toFixed(4)}`}`));
  await bench.teardown?.();

  const seconds = median(runs.map((r) => r.seconds));
  const peerSeconds = median(peerRuns.map((r) => r.seconds));
  // Benchmarks that train continue across repetitions, so the quality reached is the last repetition's.
  const last = runs[runs.length - 1];
  const peerLast = peerRuns[peerRuns.length - 1];
  const peerRss = peerRuns.map((r) => Number(r.extra?.max_rss_mb)).filter((x) => Number.isFinite(x));
  return {
    name: bench.name,
    backend: bench.backend?.() ?? backendLabel(engine),
    seconds_median: round(seconds),
    peer_seconds_median: round(peerSeconds),
    ratio: seconds !== null && peerSeconds ? round(seconds / peerSeconds, 3) : null,
    quality: round(last?.quality ?? null),
    quality_label: bench.qualityLabel ?? "quality",
    peer_quality: round(peerLast?.quality ?? null),
    quality_mean: round(mean(runs.map((r) => r.quality))),
    peer_quality_mean: round(mean(peerRuns.map((r) => r.quality))),
    repetitions: runs.length,
    max_rss_mb: Math.round(maxRssMb),
    peer_max_rss_mb: peerRss.length ? Math.round(Math.max(...peerRss)) : null,
    ...(peerSkipped ? { peer_skipped: peerSkipped } : {}),
    ...(last?.extra ? { extra: last.extra } : {}),
    ...(peerLast?.extra ? { peer_extra: peerLast.extra } : {}),
  };
}

function printTable(results: BenchResult[]): void {
  const fmt = (x: number | null, digits: number) => (x === null ? "-" : x.toFixed(digits));
  const rows = results.map((r) => [r.name, r.backend, fmt(r.seconds_median, 3), fmt(r.peer_seconds_median, 3), fmt(r.ratio, 2), `${fmt(r.quality, 4)} / ${fmt(r.peer_quality, 4)}`, `${fmt(r.quality_mean, 4)} / ${fmt(r.peer_quality_mean, 4)}`, `${r.max_rss_mb} / ${r.peer_max_rss_mb ?? "-"}`]);
  const head = ["benchmark", "backend", "s (median)", "peer s", "ratio", "quality, last run (ours / peer)", "mean over runs", "peak RSS MB (ours / peer)"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(`\n${line(head)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  rows.forEach((r) => console.log(line(r)));
  console.log("(peak RSS of this process is cumulative: it includes every benchmark run before)\n");
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const benches = await discover(__dirname, options.names);
  if (!benches.length) {
    console.error(`No benchmark matches ${options.names.join(", ")}. Benchmarks are bench/*.bench.ts.`);
    process.exit(1);
  }
  await initBackend();
  console.log(`${benches.length} benchmark(s): ${benches.map((b) => b.name).join(", ")} · warm-up ${options.warmup}, repetitions ${options.reps}`);
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
  printTable(results);
  for (const r of [...results, ...skipped]) console.log(JSON.stringify(r));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
