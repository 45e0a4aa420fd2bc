/**
 * The Keras peers: the lesson's own Keras models, run by the Python of the benchmark-only
 * virtual environment `.venv-bench` (tensorflow-cpu and keras, installed by `setup --with-bench`;
 * the lessons never use it). Each benchmark runs them after its PyTorch peer, in the same run.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { projectEnv, ROOT } from "../../scripts/lessons";
import type { Measurement, PeerResult } from "../types";
import { runPeerScript, type PeerRun } from "./process";

/** What setup recorded: build/env.json may not exist yet when a test imports this file. */
function recorded(): string | null {
  try {
    return (projectEnv() as { kerasPython?: string | null }).kerasPython ?? null;
  } catch {
    return null;
  }
}

/** LESSON4_KERAS_PYTHON, else the one `setup --with-bench` recorded, else .venv-bench's. */
export const KERAS_PYTHON =
  process.env.LESSON4_KERAS_PYTHON || recorded() || path.join(ROOT, ".venv-bench", "bin", "python");

let probed: string | null | undefined;

/** Why the Keras peers cannot run here, or null when they can (asked once: TF loads slowly). */
export function kerasUnavailable(): string | null {
  if (probed !== undefined) return probed;
  if (!fs.existsSync(KERAS_PYTHON)) {
    probed =
      `${KERAS_PYTHON} not found (\`npm run bench\` installs tensorflow-cpu and keras into .venv-bench; ` +
      "or set LESSON4_KERAS_PYTHON)";
    return probed;
  }
  const probe = spawnSync(KERAS_PYTHON, ["-c", "import tensorflow, keras, numpy, pandas, PIL"], {
    encoding: "utf8",
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" },
  });
  const last = (probe.stderr || String(probe.error ?? "")).trim().split("\n").pop();
  probed =
    probe.status === 0
      ? null
      : `${KERAS_PYTHON} cannot import tensorflow/keras/pandas/PIL (${last})`;
  return probed;
}

/** Runs a Keras peer script (in bench/peers) with the Keras Python, measuring its peak RSS. */
export function runKerasScript(script: string, args: string[]): Promise<PeerRun> {
  return runPeerScript(path.join(__dirname, script), args, KERAS_PYTHON);
}

/** The TensorFlow and Keras versions (and XLA use) a peer reported, for the row's extra figures. */
export function kerasVersions(line: Record<string, number | string>): Record<string, string> {
  const keys = ["keras", "tensorflow", "jit_compile"].filter((k) => typeof line[k] === "string");
  return Object.fromEntries(keys.map((k) => [k, String(line[k])]));
}

/**
 * The repetitions a per-repetition peer (images, statefarm) printed as `{"rep", "seconds", ...}`,
 * warm-ups (rep < 0) dropped; `extra` turns a line into the row's extra figures. A failure
 * becomes the reason the peer was skipped.
 */
export function repetitions(
  run: PeerRun,
  script: string,
  extra: (line: Record<string, number>) => Record<string, number | string>,
): PeerResult[] | { skipped: string } {
  if (run.code !== 0) return { skipped: `${script} exited with ${run.code}: ${run.error}` };
  const rss: Record<string, number> = run.maxRssMb ? { max_rss_mb: run.maxRssMb } : {};
  const lines = run.lines.filter((l) => "rep" in l && Number(l.rep) >= 0);
  if (!lines.length) return { skipped: `${script} printed no measurement` };
  return lines.map(
    (l): Measurement => ({
      seconds: Number(l.seconds),
      quality: null,
      extra: { ...extra(l as Record<string, number>), ...kerasVersions(l), ...rss },
    }),
  );
}
