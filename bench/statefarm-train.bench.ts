/**
 * Training speed of notebook 04's models, one epoch per repetition: the BN dense head on 3200 MobileNet feature maps
 * (3x3x1024, batches of 32) and the small CNN on 1500 photos of 36x48 (batches of 64), both with Adam, on seeded
 * random inputs of those shapes, against the same models in bench/peers/statefarm_torch.py
 * (PyTorch) and bench/peers/statefarm_keras.py (Keras, as the lesson builds them).
 */
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { convModel, featureHead } from "../lib/statefarm/models";
import { compileClassifier, trainClassifier, type LabelledSet } from "../lib/statefarm/train";
import { oneHot } from "../lib/vision/images";
import { peerThreads, peerUnavailable } from "./peers/collab";
import { runPeerScript } from "./peers/process";
import { kerasUnavailable, repetitions, runKerasScript } from "./peers/keras";
import type { Benchmark, Measurement, PeerResult } from "./types";

const PEER = path.join(__dirname, "peers", "statefarm_torch.py");

interface Work {
  name: string;
  task: "head" | "cnn";
  samples: number;
  batchSize: number;
  inputs(n: number, seed: number): tf.Tensor;
  model(): tf.LayersModel;
}

const WORK: Work[] = [
  {
    name: "statefarm-head",
    task: "head",
    samples: 3200,
    batchSize: 32,
    inputs: (n, seed) =>
      tf.tidy(() => tf.relu(tf.randomNormal([n, 3, 3, 1024], 0, 1, "float32", seed))),
    model: () => featureHead([3, 3, 1024], { p: 0.8, seed: 1 }),
  },
  {
    name: "statefarm-cnn",
    task: "cnn",
    samples: 1500,
    batchSize: 64,
    inputs: (n, seed) => tf.randomUniform([n, 36, 48, 3], 0, 255, "float32", seed),
    model: () => convModel([36, 48, 3], { seed: 1 }),
  },
];

function labelled(x: tf.Tensor, seed: number): LabelledSet {
  const labels = Array.from({ length: x.shape[0] }, (_, i) => (i * 7 + seed) % 10);
  return { x, y: oneHot(labels), labels };
}

/** The command line both peers take: the task, its size, repetitions after a warm-up, threads. */
function peerArgs(work: Work, reps: number, threads: number): string[] {
  const counts = ["--samples", String(work.samples), "--reps", String(reps)];
  return [work.task, ...counts, "--warmup", "1", "--threads", String(threads)];
}

async function torchPeer(work: Work, reps: number): Promise<PeerResult[] | { skipped: string }> {
  const why = peerUnavailable();
  if (why) return { skipped: why };
  const threads = peerThreads();
  const run = await runPeerScript(PEER, peerArgs(work, reps, threads));
  if (run.code !== 0)
    return { skipped: `statefarm_torch.py exited with ${run.code}: ${run.error}` };
  return (run.lines as Array<Record<string, number>>)
    .filter((l) => "rep" in l && l.rep >= 0)
    .map(
      (l): Measurement => ({
        seconds: l.seconds,
        quality: null,
        extra: {
          samples_per_s: Math.round(l.samples / l.seconds),
          threads,
          ...(run.maxRssMb ? { max_rss_mb: run.maxRssMb } : {}),
        },
      }),
    );
}

async function kerasPeer(work: Work, reps: number): Promise<PeerResult[] | { skipped: string }> {
  const why = kerasUnavailable();
  if (why) return { skipped: why };
  const threads = peerThreads();
  const run = await runKerasScript("statefarm_keras.py", peerArgs(work, reps, threads));
  return repetitions(run, "statefarm_keras.py", (l) => ({
    samples_per_s: Math.round(l.samples / l.seconds),
    threads,
  }));
}

function trainingBenchmark(work: Work): Benchmark {
  let train: LabelledSet | null = null;
  let valid: LabelledSet | null = null;
  let model: tf.LayersModel | null = null;
  return {
    name: work.name,
    threads: "all",
    async setup() {
      train = labelled(work.inputs(work.samples, 1), 1);
      valid = labelled(work.inputs(32, 2), 2); // trainClassifier scores a validation set each epoch, as the notebook does
      model = compileClassifier(work.model(), 1e-3);
    },
    async run() {
      const start = performance.now();
      await trainClassifier(model!, train!, valid!, {
        epochs: 1,
        batchSize: work.batchSize,
        title: false,
        seed: 3,
      });
      const seconds = (performance.now() - start) / 1000;
      return {
        seconds,
        quality: null,
        extra: { samples_per_s: Math.round(work.samples / seconds), batch: work.batchSize },
      };
    },
    peer: (reps) => torchPeer(work, reps),
    keras: (reps) => kerasPeer(work, reps),
    // Ours and Keras score a 32-sample validation set each epoch (trainClassifier, fit's
    // validation_data); the PyTorch peer trains only.
    note: "the PyTorch peer scores no validation set per epoch (ours and Keras score 32 samples)",
    async teardown() {
      model?.dispose();
      for (const set of [train, valid]) if (set) tf.dispose([set.x, set.y]);
    },
  };
}

export const benchmarks: Benchmark[] = WORK.map(trainingBenchmark);
