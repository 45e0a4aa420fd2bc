/**
 * What the collaborative-filtering benchmarks share: the real MovieLens ratings with the peers'
 * own split, an epoch-by-epoch view of fitCollab (one repetition = one epoch of the lesson's
 * schedule), and running a PyTorch or Keras peer script for the same epochs with its peak RSS.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { readConfig, engineSwitch } from "../../lib/config";
import { fromSources } from "../../lib/datasets/sources";
import { parseRatings, type Rating } from "../../lib/datasets/movielens";
import {
  fitCollab,
  LESSON_RECIPE,
  LESSON_SCHEDULE,
  type CollabOptions,
  type EpochRecord,
  type RatingsInput,
  type ScheduleStep,
} from "../../lib/collab/index";
import { randomSplit } from "../../lib/datasets/ratings-split";
import { projectEnv } from "../../scripts/lessons";
import type { Measurement, PeerResult } from "../types";
import { runPeerScript } from "./process";
import { KERAS_PYTHON, kerasUnavailable, kerasVersions } from "./keras";

/** The Python that runs the peers: LESSON4_PEER_PYTHON, else the one `setup --with-bench` found, else Debian's. */
export const PEER_PYTHON =
  process.env.LESSON4_PEER_PYTHON || projectEnv().peerPython || "/usr/bin/python3";

/** Why the PyTorch peers cannot run here, or null when they can. */
export function peerUnavailable(): string | null {
  if (!fs.existsSync(PEER_PYTHON))
    return `${PEER_PYTHON} not found (install Debian's python3-torch python3-pandas, or set LESSON4_PEER_PYTHON)`;
  const probe = spawnSync(PEER_PYTHON, ["-c", "import torch, pandas, numpy"], { encoding: "utf8" });
  if (probe.status !== 0)
    return `${PEER_PYTHON} cannot import torch/pandas/numpy (${(probe.stderr || "").trim().split("\n").pop()}); install Debian's python3-torch python3-pandas`;
  return null;
}

/** The ratings.csv of the real ml-latest-small from LESSON4_SOURCES_DIR or data/; throws saying how to provide it. */
export function movieLensCsv(): string {
  const config = readConfig();
  const candidates = [
    fromSources("data/ml-latest-small/ratings.csv", config),
    path.join(config.dataDir, "ml-latest-small", "ratings.csv"),
  ];
  const found = candidates.find((f) => f && fs.existsSync(f));
  if (!found)
    throw new Error(
      `needs the real MovieLens ml-latest-small (set LESSON4_SOURCES_DIR=/path/to/shared, or run notebook 07 once to download it into ${config.dataDir})`,
    );
  return found;
}

/** The first `epochs` epochs of the lesson's schedule (continuing at its last rate beyond 17). */
export function schedulePrefix(
  epochs: number,
  schedule: ScheduleStep[] = LESSON_SCHEDULE,
): ScheduleStep[] {
  const out: ScheduleStep[] = [];
  let left = epochs;
  for (const step of schedule) {
    if (left <= 0) break;
    out.push({ lr: step.lr, epochs: Math.min(step.epochs, left) });
    left -= step.epochs;
  }
  if (left > 0) out.push({ lr: schedule[schedule.length - 1].lr, epochs: left });
  return out;
}

/** A Python with numpy for the split: the PyTorch peers', else the Keras peers' (same mask). */
export function splitPython(): string | null {
  if (!peerUnavailable()) return PEER_PYTHON;
  return kerasUnavailable() ? null : KERAS_PYTHON;
}

/** Ratings split exactly as the peers split them (numpy default_rng(seed).random(n) < 0.8 over the file's rows). */
export function peerSplit(csv: string, seed = 42): { train: Rating[]; valid: Rating[] } {
  const report = parseRatings(fs.readFileSync(csv, "utf8"), { file: csv });
  if (report.bad.length)
    throw new Error(
      `${csv} has ${report.bad.length} malformed rows; the peers' split assumes none`,
    );
  const rows = report.rows;
  const python = splitPython();
  if (!python) {
    // No numpy to reproduce the peers' mask: the lib's seeded 80/20 split (the peers are skipped anyway).
    const split = randomSplit(rows, 0.2, seed);
    return { train: split.train, valid: split.valid };
  }
  const run = spawnSync(
    python,
    [path.join(__dirname, "collab_split.py"), String(rows.length), String(seed)],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  if (run.status !== 0 || run.stdout.length !== rows.length)
    throw new Error(
      `could not get the peers' split from ${python}: ${run.stderr || `got ${run.stdout.length} flags for ${rows.length} rows`}`,
    );
  const train: Rating[] = [];
  const valid: Rating[] = [];
  rows.forEach((r, i) => (run.stdout[i] === "1" ? train : valid).push(r));
  return { train, valid };
}

class StopTraining extends Error {}

/** fitCollab driven one epoch at a time: `next()` trains the next epoch of the schedule and returns its record. */
export class EpochStream {
  private pending: ((r: EpochRecord) => void) | null = null;
  private failed: ((e: unknown) => void) | null = null;
  private resume: ((stop: boolean) => void) | null = null;
  private done: Promise<unknown> | null = null;
  epochs = 0;

  constructor(
    private readonly train: RatingsInput,
    private readonly options: CollabOptions,
  ) {}

  next(): Promise<EpochRecord> {
    return new Promise((resolve, reject) => {
      this.pending = resolve;
      this.failed = reject;
      if (this.resume) {
        const go = this.resume;
        this.resume = null;
        go(false);
      } else if (!this.done) {
        this.done = fitCollab(this.train, {
          ...this.options,
          onEpoch: (record) =>
            new Promise<void>((res, rej) => {
              this.epochs++;
              this.resume = (stop) => (stop ? rej(new StopTraining()) : res());
              this.pending?.(record);
            }),
        }).catch((error) => {
          if (!(error instanceof StopTraining)) this.failed?.(error);
        });
      }
    });
  }

  async stop(): Promise<void> {
    this.resume?.(true);
    this.resume = null;
    await this.done;
  }
}

/** The lesson's recipe for a model kind, over enough epochs for any number of repetitions. */
export function lessonOptions(
  model: "bias" | "nn",
  valid: Rating[],
  extra: Partial<CollabOptions> = {},
): CollabOptions {
  // LESSON4_LAZY_ADAM=1 measures lazy Embedding updates (faster, worse RMSE), to show what they change.
  return {
    ...LESSON_RECIPE,
    model,
    schedule: schedulePrefix(1000),
    validation: valid,
    seed: 42,
    lazyAdam: engineSwitch("LESSON4_LAZY_ADAM", false),
    ...extra,
  };
}

/**
 * Threads the PyTorch peers use: LESSON4_PEER_THREADS, default 2 (the machine's cores). On a loaded machine two
 * threads can be far slower than one (they wait for each other), so the figure is reported with the result.
 */
export function peerThreads(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.LESSON4_PEER_THREADS;
  if (text === undefined || text === "") return 2;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`LESSON4_PEER_THREADS must be a whole number >= 1, not "${text}"`);
  return n;
}

/**
 * Runs a PyTorch peer script for `warmup + reps` epochs of the lesson's schedule; the warm-up
 * epochs are dropped.
 */
export function runTorchPeer(
  script: string,
  csv: string,
  warmup: number,
  reps: number,
): Promise<PeerResult[] | { skipped: string }> {
  return runEpochPeer(PEER_PYTHON, peerUnavailable(), script, [], csv, warmup, reps);
}

/** The same for the Keras peer (bench/peers/collab_keras.py) of one model kind. */
export function runKerasPeer(
  model: "bias" | "nn",
  csv: string,
  warmup: number,
  reps: number,
): Promise<PeerResult[] | { skipped: string }> {
  const script = path.join(__dirname, "collab_keras.py");
  return runEpochPeer(
    KERAS_PYTHON,
    kerasUnavailable(),
    script,
    ["--model", model],
    csv,
    warmup,
    reps,
  );
}

/** A peer script printing one {"epoch", "lr", "seconds", "val_mse"} line per epoch. */
export async function runEpochPeer(
  python: string,
  why: string | null,
  script: string,
  args: string[],
  csv: string,
  warmup: number,
  reps: number,
): Promise<PeerResult[] | { skipped: string }> {
  if (why) return { skipped: why };
  if (!fs.existsSync(script)) return { skipped: `peer script ${script} not found` };
  const schedule = schedulePrefix(warmup + reps)
    .map((s) => `${s.lr}:${s.epochs}`)
    .join(",");
  const threads = peerThreads();
  const run = await runPeerScript(
    script,
    [csv, ...args, "--threads", String(threads), "--schedule", schedule],
    python,
  );
  if (run.code !== 0)
    return { skipped: `${path.basename(script)} exited with ${run.code}: ${run.error}` };
  const rssMb = run.maxRssMb;
  return run.lines
    .filter((l) => "epoch" in l && Number(l.epoch) >= warmup)
    .map(
      (l): Measurement => ({
        seconds: Number(l.seconds),
        quality: Math.sqrt(Number(l.val_mse)),
        extra: {
          lr: Number(l.lr),
          threads,
          ...kerasVersions(l),
          ...(rssMb ? { max_rss_mb: rssMb } : {}),
        },
      }),
    );
}

/**
 * A benchmark of one model kind: each repetition trains the next epoch of the lesson's recipe on
 * the peers' split, and the PyTorch and Keras peers train the same epochs (same learning rates)
 * of the same model.
 */
export function collabBenchmark(
  name: string,
  model: "bias" | "nn",
  peerScript: string,
  extra: Partial<CollabOptions> = {},
  note?: string,
): import("../types").Benchmark {
  let csv = "";
  let stream: EpochStream | null = null;
  return {
    name,
    qualityLabel: "validation RMSE",
    ...(note ? { note } : {}),
    async setup() {
      csv = movieLensCsv();
      if (!splitPython())
        throw new Error(
          `the peers' split comes from numpy, and neither peer's Python has it: ${peerUnavailable()}; ${kerasUnavailable()}`,
        );
      const { train, valid } = peerSplit(csv);
      stream = new EpochStream(train, lessonOptions(model, valid, extra));
    },
    async run() {
      const r = await stream!.next();
      return {
        seconds: r.seconds,
        quality: r.valRmse ?? null,
        extra: { epoch: r.epoch + 1, lr: r.lr },
      };
    },
    async peer(reps) {
      return runTorchPeer(peerScript, csv, stream!.epochs - reps, reps);
    },
    async keras(reps) {
      return runKerasPeer(model, csv, stream!.epochs - reps, reps);
    },
    async teardown() {
      await stream?.stop();
    },
  };
}
