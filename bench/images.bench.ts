/**
 * The State Farm image pipeline's speed: decode + resize + augment (lib/vision, sharp and tfjs ops) and MobileNet
 * features up to conv_dw_13 (lib/vision/pretrained), in images per second, against the same work in
 * bench/peers/images_torch.py (PIL/torchvision; a hand-built MobileNet v1 body with random
 * weights) and bench/peers/images_keras.py (Keras 3; MobileNet built from the lessons' own
 * model.json and weights).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { readConfig } from "../lib/config";
import { ensureStateFarm, readStateFarm } from "../lib/statefarm/index";
import { FEATURE_AUGMENT } from "../lib/statefarm/features";
import { imageBatches, loadImages } from "../lib/vision/images";
import { ImageDataGenerator } from "../lib/vision/augment";
import { extractFeatures, loadMobileNet, type FeatureModel } from "../lib/vision/pretrained";
import { PEER_PYTHON, peerThreads } from "./peers/collab";
import { runPeerScript } from "./peers/process";
import { kerasUnavailable, repetitions, runKerasScript } from "./peers/keras";
import type { Benchmark, Measurement, PeerResult } from "./types";

const SIZE = 224;
const BATCH = 32;
const DECODE_IMAGES = 256;
const FEATURE_IMAGES = 64;
const PEER = path.join(__dirname, "peers", "images_torch.py");

/** The first `n` training photos of the generated fast set (or the Kaggle data when present). */
async function photos(n: number): Promise<string[]> {
  const config = readConfig({ ...process.env, LESSON4_MODE: "fast" });
  const source = await ensureStateFarm({ config, log: false });
  const data = await readStateFarm(source.dir, { seed: config.seed });
  const files = data.train.map((it) => it.path).slice(0, n);
  if (files.length < n)
    throw new Error(
      `needs ${n} training photos, the State Farm data in ${source.dir} has ${files.length}`,
    );
  return files;
}

/** The command line both peers take: the task, the photo list, sizes, repetitions, threads. */
function peerArgs(task: string, list: string, reps: number, threads: number): string[] {
  return [
    task,
    list,
    "--size",
    String(SIZE),
    "--batch",
    String(BATCH),
    "--reps",
    String(reps),
  ].concat(["--warmup", "1", "--threads", String(threads)]);
}

/** Runs the peer for `reps` repetitions (after one warm-up) and returns its measurements with its peak RSS. */
async function torchPeer(
  task: "decode" | "features",
  files: string[],
  reps: number,
): Promise<PeerResult[] | { skipped: string }> {
  if (!fs.existsSync(PEER_PYTHON))
    return {
      skipped: `${PEER_PYTHON} not found (install Debian's python3-torch python3-torchvision, or set LESSON4_PEER_PYTHON)`,
    };
  const list = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-images-")), "files.txt");
  fs.writeFileSync(list, files.join("\n"));
  const threads = peerThreads();
  const run = await runPeerScript(PEER, peerArgs(task, list, reps, threads));
  fs.rmSync(path.dirname(list), { recursive: true, force: true });
  if (run.code !== 0) return { skipped: `images_torch.py exited with ${run.code}: ${run.error}` };
  const rssMb = run.maxRssMb ?? NaN;
  const lines = run.lines as Array<Record<string, number>>;
  return lines
    .filter((l) => "rep" in l && l.rep >= 0)
    .map(
      (l): Measurement => ({
        seconds: l.seconds,
        quality: null,
        extra: {
          images_per_s: Number((l.images / l.seconds).toFixed(1)),
          threads,
          ...(Number.isFinite(rssMb) ? { max_rss_mb: rssMb } : {}),
        },
      }),
    );
}

/** The Keras peer of the same task; `modelDir` is the MobileNet ours loaded (features only). */
async function kerasPeer(
  task: "decode" | "features",
  files: string[],
  reps: number,
  modelDir?: string,
): Promise<PeerResult[] | { skipped: string }> {
  const why = kerasUnavailable();
  if (why) return { skipped: why };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-images-"));
  const list = path.join(dir, "files.txt");
  fs.writeFileSync(list, files.join("\n"));
  const threads = peerThreads();
  const run = await runKerasScript("images_keras.py", [
    ...peerArgs(task, list, reps, threads),
    ...(modelDir ? ["--model-dir", modelDir] : []),
  ]);
  fs.rmSync(dir, { recursive: true, force: true });
  return repetitions(run, "images_keras.py", (l) => ({
    images_per_s: Number((l.images / l.seconds).toFixed(1)),
    threads,
  }));
}

const rate = (images: number, seconds: number) => ({
  images_per_s: Number((images / seconds).toFixed(1)),
  images,
  size: `${SIZE}x${SIZE}`,
  batch: BATCH,
});

/**
 * Decode + resize to 224x224 + the lesson's feature augmentation, streamed in batches of 32, as precomputeFeatures
 * streams them (imageBatches' augment: photos up to twice 224x224 are resized in the augmentation's warp).
 */
function decodeBenchmark(): Benchmark {
  let files: string[] = [];
  const gen = new ImageDataGenerator(FEATURE_AUGMENT);
  return {
    name: "images-decode-augment",
    threads: "all",
    async setup() {
      files = await photos(DECODE_IMAGES);
    },
    async run() {
      const start = performance.now();
      for await (const batch of imageBatches(files, {
        width: SIZE,
        height: SIZE,
        batchSize: BATCH,
        augment: gen,
      })) {
        await batch.xs.data(); // make sure the augmented pixels exist
        batch.xs.dispose();
      }
      const seconds = (performance.now() - start) / 1000;
      return { seconds, quality: null, extra: rate(files.length, seconds) };
    },
    peer: (reps) => torchPeer("decode", files, reps),
    keras: (reps) => kerasPeer("decode", files, reps),
    note:
      "decoders differ: ours sharp (photos up to 2x 224 resized in the warp), both peers PIL " +
      "bilinear; PyTorch warps image by image (torchvision), Keras and ours a batch at a time",
  };
}

/** MobileNet v1 up to conv_dw_13_relu on already decoded 224x224 photos, batches of 32, as the lessons run it (extractFeatures). */
function featuresBenchmark(): Benchmark {
  let files: string[] = [];
  let images: tf.Tensor4D | null = null;
  let mobilenet: FeatureModel | null = null;
  return {
    name: "images-mobilenet-features",
    threads: "all",
    async setup() {
      files = await photos(FEATURE_IMAGES);
      mobilenet = await loadMobileNet({ inputSize: SIZE });
      images = await loadImages(files, { width: SIZE, height: SIZE, scale: "symmetric" });
    },
    async run() {
      const start = performance.now();
      for (let i = 0; i < files.length; i += BATCH) {
        const out = tf.tidy(() =>
          extractFeatures(mobilenet!, images!.slice(i, Math.min(BATCH, files.length - i))),
        );
        await out.data();
        out.dispose();
      }
      const seconds = (performance.now() - start) / 1000;
      return { seconds, quality: null, extra: rate(files.length, seconds) };
    },
    peer: (reps) => torchPeer("features", files, reps),
    keras: (reps) => kerasPeer("features", files, reps, mobilenet?.source),
    note:
      "the PyTorch peer has random weights and also runs the conv_pw_13 block " +
      "(~10% more multiply-adds); " +
      "Keras runs the same weights and cut as ours",
    async teardown() {
      images?.dispose();
      mobilenet?.model.dispose();
    },
  };
}

export const benchmarks: Benchmark[] = [decodeBenchmark(), featuresBenchmark()];
