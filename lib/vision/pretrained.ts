/**
 * ImageNet-pretrained MobileNet v1 cut after conv_dw_13_relu (7x7x1024 features), loaded from a
 * local folder or downloaded once, and features precomputed once per data set, cached as .npy
 * under a key that changes with the images, the model and the augmentation.
 */
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import * as tf from "@tensorflow/tfjs";
import { readConfig, type Config, engineSwitch } from "../config";
import { fromSources, downloadFile } from "../datasets/sources";
import { imageBatches } from "./images";
import { ImageDataGenerator, type AugmentOptions } from "./augment";
import { type NpyWriter, readNpyHeader } from "./npy";
import { buildFeatureStore, type ComputeShard, type FeatureStore } from "./feature-store";
import { hashString } from "../random";
import { throwIfInterrupted } from "../engine/interrupt";
import { foldedInference, type FoldedInference } from "./folded";
import { checkModelFiles, type ModelJson } from "./model-files";
import { ensureBackend } from "../engine/backend";

/** Where the TF.js team publishes MobileNet v1 1.0 224 (layers format). */
export const MOBILENET_URL =
  "https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_1.0_224/model.json";
/** The local copy looked for under LESSON4_SOURCES_DIR. */
export const MOBILENET_SOURCE = "models/mobilenet_v1_1.0_224_dw13";
/** The layer whose output the lesson uses as features. */
export const FEATURE_LAYER = "conv_dw_13_relu";

/**
 * A tfjs IOHandler reading model.json and its weight shards from disk (pure tfjs has no file://).
 * Before reading, it checks model.json parses and each shard has the bytes its weights need
 * (checkModelFiles); a failure ends with `fix`, what to do about it.
 */
export function fileIOHandler(
  modelJson: string,
  fix = `replace ${path.dirname(modelJson)} with a good copy of the model`,
): tf.io.IOHandler {
  return {
    load: async () => {
      const json = checkModelFiles(modelJson, fix);
      const dir = path.dirname(modelJson);
      const buffers: Buffer[] = [];
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      for (const group of json.weightsManifest) {
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
        weightSpecs.push(...group.weights);
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(
        all.byteOffset,
        all.byteOffset + all.byteLength,
      ) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
      };
    },
  };
}

/** A loaded feature extractor and what identifies it in cache keys. */
export interface FeatureModel {
  model: tf.LayersModel;
  /** Changes when the weights or the cut change. */
  id: string;
  /** The folder it was loaded from. */
  source: string;
  /** Input size expected (square). */
  inputSize: number;
}

async function downloadModel(url: string, dir: string): Promise<string> {
  const modelJson = path.join(dir, "model.json");
  if (!fs.existsSync(modelJson)) {
    const tmpJson = path.join(dir, "model.json.part");
    const base = url.slice(0, url.lastIndexOf("/") + 1);
    const manualHint = `download ${url} and the weight files it lists (from ${base}) into ${dir}, or set LESSON4_SOURCES_DIR to a folder that holds ${MOBILENET_SOURCE}`;
    await downloadFile(url, tmpJson, { manualHint });
    const json = JSON.parse(fs.readFileSync(tmpJson, "utf8")) as ModelJson;
    for (const group of json.weightsManifest)
      for (const p of group.paths)
        if (!fs.existsSync(path.join(dir, p)))
          await downloadFile(base + p, path.join(dir, p), { manualHint });
    fs.renameSync(tmpJson, modelJson);
  }
  return modelJson;
}

/**
 * A handler that loads the model with a different square input size: every layer up to
 * conv_dw_13 is convolutional, so the same weights apply (7x7 features at 224, 4x4 at 128).
 */
function withInputSize(handler: tf.io.IOHandler, size: number): tf.io.IOHandler {
  return {
    load: async () => {
      const artifacts = await handler.load!();
      const topology = JSON.parse(JSON.stringify(artifacts.modelTopology)) as {
        model_config?: {
          config: {
            layers: Array<{
              class_name: string;
              config: { batch_input_shape?: Array<number | null> };
            }>;
          };
        };
      };
      const input = topology.model_config?.config.layers.find((l) => l.class_name === "InputLayer");
      const shape = input?.config.batch_input_shape;
      if (!shape || shape.length !== 4)
        throw new Error(
          `loadMobileNet: cannot set inputSize ${size}: the model has no 4-d InputLayer in its topology.`,
        );
      input!.config.batch_input_shape = [shape[0], size, size, shape[3]];
      return { ...artifacts, modelTopology: topology };
    },
  };
}

/**
 * What to do about a damaged model folder, by where it came from: `dir` given, LESSON4_SOURCES_DIR,
 * or data/.
 */
function repairHint(dir: string, origin: "dir" | "sources" | "data", config: Config): string {
  const redownload = `delete the folder ${dir} so that it is downloaded again on the next run`;
  if (origin === "dir") return `${redownload}, or replace it with a good copy of the model`;
  if (origin === "sources") {
    const download = path.join(config.dataDir, "models", "mobilenet_v1_1.0_224");
    return (
      `put a good copy of the model (model.json and its weight files, from ${MOBILENET_URL}) ` +
      `at ${dir}, the path LESSON4_SOURCES_DIR points to, or unset LESSON4_SOURCES_DIR so that ` +
      `it is downloaded into ${download}`
    );
  }
  return (
    `${redownload}, or put a good copy of the model at <folder>/${MOBILENET_SOURCE} and set ` +
    `LESSON4_SOURCES_DIR=<folder>`
  );
}

/**
 * Loads MobileNet cut after conv_dw_13_relu: from `dir` when given, else LESSON4_SOURCES_DIR's
 * copy, else data/models (downloading it from the TF.js model storage the first time).
 * `inputSize` (default 224, as trained) runs it on smaller images, e.g. 128 for quick runs.
 */
export async function loadMobileNet(
  options: { dir?: string; url?: string; config?: Config; inputSize?: number } = {},
): Promise<FeatureModel> {
  await ensureBackend({ threads: "all" }); // a script without initBackend gets the fast backend
  const config = options.config ?? readConfig();
  const shared = options.dir ? null : fromSources(MOBILENET_SOURCE, config);
  const dir = options.dir ?? shared ?? path.join(config.dataDir, "models", "mobilenet_v1_1.0_224");
  const fix = repairHint(dir, options.dir ? "dir" : shared ? "sources" : "data", config);
  const modelJson = fs.existsSync(path.join(dir, "model.json"))
    ? path.join(dir, "model.json")
    : await downloadModel(options.url ?? MOBILENET_URL, dir);
  const size = options.inputSize;
  if (size !== undefined && (!Number.isInteger(size) || size < 32))
    throw new Error(
      `loadMobileNet: inputSize must be a whole number of pixels >= 32 (MobileNet halves it five times), not ${size}.`,
    );
  const handler = fileIOHandler(modelJson, fix);
  const full = await tf.loadLayersModel(
    size === undefined ? handler : withInputSize(handler, size),
  );
  const layer = full.getLayer(FEATURE_LAYER);
  const model =
    full.outputs[0] === layer.output
      ? full
      : tf.model({ inputs: full.inputs, outputs: layer.output as tf.SymbolicTensor });
  model.trainable = false; // a frozen feature extractor (which extractFeatures may fold)
  const hash = createHash("sha256").update(fs.readFileSync(modelJson)).update(FEATURE_LAYER);
  const json = JSON.parse(fs.readFileSync(modelJson, "utf8")) as ModelJson;
  for (const g of json.weightsManifest)
    for (const p of g.paths) hash.update(`${p}:${fs.statSync(path.join(dir, p)).size}`);
  return {
    model,
    id: hash.digest("hex").slice(0, 16),
    source: dir,
    inputSize: (full.inputs[0].shape[1] as number) ?? 224,
  };
}

const folds = new WeakMap<tf.LayersModel, FoldedInference | null>();

/**
 * The extractor's output for a batch: for a frozen model that folds (MobileNet: conv, batch norm, ReLU6 chains), its
 * folded convolutions, ~1.4x faster than model.predict and equal to it up to float32 rounding; else model.predict.
 * A trainable model is never folded (its weights may change); LESSON4_FOLD_BN=0 turns folding off (to compare).
 */
export function extractFeatures(
  extractor: Pick<FeatureModel, "model">,
  x: tf.Tensor4D,
): tf.Tensor4D {
  const model = extractor.model;
  if (model.trainable || !engineSwitch("LESSON4_FOLD_BN")) {
    folds.get(model)?.dispose();
    folds.delete(model);
    return model.predict(x) as tf.Tensor4D;
  }
  if (!folds.has(model)) folds.set(model, foldedInference(model));
  const folded = folds.get(model);
  return folded ? folded.run(x) : (model.predict(x) as tf.Tensor4D);
}

export interface FeatureOptions {
  /** Cache folder (default <data>/features). */
  cacheDir?: string;
  /** Name prefix of the store's folder, e.g. "train" (default "features"). */
  name?: string;
  batchSize?: number;
  /** Augment each image before the model (Keras ImageDataGenerator options, with seed). */
  augment?: AugmentOptions;
  /** How many augmented passes over the images (default 1); rows are epoch-major. */
  epochs?: number;
  /** Max-pool the features 2x2 before saving (7x7 -> 3x3, 5.4x smaller). */
  pool?: "max2";
  /** Rows per shard on disk (default SHARD_ROWS, 1024). */
  shardRows?: number;
  /** Called after each batch with (done, total) rows, finished shards counted as done. */
  onProgress?: (done: number, total: number) => void;
}

/** Precomputed features: the store on disk, and all rows as a tensor when asked for. */
export interface Features {
  /**
   * [files.length * epochs, ...row shape], read from the store on first use (then the caller owns
   * it): for sets that fit in memory. Large sets are read with `store.batches` or `readRows`.
   */
  readonly features: tf.Tensor;
  /** The shards on disk: row count, row shape, rows by index, batches. */
  store: FeatureStore;
  /** The store's folder. */
  file: string;
  /** True when every shard was read from the cache, false when any was computed now. */
  cached: boolean;
  /** Shards computed by this call (missing, damaged, or all of them the first time). */
  computedShards: number[];
  key: string;
}

/** The cache key: image contents, model id, input size, augmentation and epochs. */
export function featureKey(
  files: string[],
  extractor: Pick<FeatureModel, "id" | "inputSize">,
  options: Pick<FeatureOptions, "augment" | "epochs" | "pool"> = {},
): string {
  const pool = options.pool ? `|${options.pool}` : "";
  // Augmented features since the warp also resizes (imageBatches' augment): other pixels than sharp's resize then the warp.
  const resample = options.augment ? "|warp-resize" : "";
  const hash = createHash("sha256").update(
    `v1|${extractor.id}|${extractor.inputSize}|${JSON.stringify(options.augment ?? null)}|${options.epochs ?? 1}|${files.length}${pool}${resample}`,
  );
  for (const f of files) hash.update(createHash("sha1").update(fs.readFileSync(f)).digest());
  return hash.digest("hex").slice(0, 20);
}

/** The row count in a .npy file's header, or -1 when it cannot be read (then it is not used). */
function npyRows(file: string): number {
  try {
    return readNpyHeader(file).shape[0] ?? -1;
  } catch {
    return -1;
  }
}

/** Rows start..end-1 of an unsharded .npy cache into `writer`, one row at a time in memory. */
async function copyRows(file: string, start: number, end: number, writer: NpyWriter) {
  const { shape, offset, dtype } = readNpyHeader(file);
  if (dtype !== "float32") throw new Error(`${file}: expected float32 features, found ${dtype}`);
  const rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * 4;
  const row = new Float32Array(rowBytes / 4);
  const fd = fs.openSync(file, "r");
  try {
    for (let r = start; r < end; r++) {
      const buf = Buffer.from(row.buffer);
      if (fs.readSync(fd, buf, 0, rowBytes, offset + r * rowBytes) !== rowBytes)
        throw new Error(`${file} is shorter than its header says; delete it to recompute`);
      await writer.write(row);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Shard `shard`'s augmentation: its own seed, so a resumed pass draws what an uninterrupted one
 * would; shard 0 keeps the options' seed (a one-shard set gets the unsharded pass's features).
 */
function shardAugment(augment: AugmentOptions, shard: number): ImageDataGenerator {
  const seed = augment.seed ?? 42;
  return new ImageDataGenerator({
    ...augment,
    seed: shard === 0 ? seed : hashString(`${seed}/shard/${shard}`),
  });
}

/**
 * The extractor's output for every file (in order, epoch-major with augmentation), computed once
 * into a sharded store (lib/vision/feature-store) under <cacheDir>/<name>-<key>/; a later call
 * with the same images, model and augmentation computes only the shards that are missing or
 * damaged. A cache from before the store (<name>-<key>.npy) is split into shards, not recomputed.
 */
export async function precomputeFeatures(
  files: string[],
  extractor: FeatureModel,
  options: FeatureOptions = {},
): Promise<Features> {
  await ensureBackend({ threads: "all" });
  const cacheDir = options.cacheDir ?? path.join(readConfig().dataDir, "features");
  const key = featureKey(files, extractor, options);
  const base = path.join(cacheDir, `${options.name ?? "features"}-${key}`);
  const epochs = options.epochs ?? 1;
  const total = files.length * epochs;
  let rowShape = (extractor.model.outputs[0].shape as number[]).slice(1);
  if (options.pool === "max2")
    rowShape = [Math.floor(rowShape[0] / 2), Math.floor(rowShape[1] / 2), rowShape[2]];
  const oldNpy = `${base}.npy`;
  const fromOldNpy = fs.existsSync(oldNpy) && npyRows(oldNpy) === total;
  let done = 0;
  const compute: ComputeShard = async (shard, start, end, writer) => {
    if (fromOldNpy) return copyRows(oldNpy, start, end, writer);
    const rows = Array.from({ length: end - start }, (_, k) => files[(start + k) % files.length]);
    const transform = (x: tf.Tensor4D) => x.div(127.5).sub(1) as tf.Tensor4D;
    for await (const batch of imageBatches(rows, {
      width: extractor.inputSize,
      height: extractor.inputSize,
      batchSize: options.batchSize ?? 32,
      augment: options.augment ? shardAugment(options.augment, shard) : undefined,
      transform,
    })) {
      const out = tf.tidy(() => {
        const y = extractFeatures(extractor, batch.xs);
        return options.pool === "max2" ? tf.maxPool(y, 2, 2, "valid") : y;
      });
      batch.xs.dispose();
      try {
        await writer.write(out);
      } finally {
        out.dispose();
      }
      done += batch.files.length;
      options.onProgress?.(done, total);
      throwIfInterrupted("the feature pass"); // finished shards stay; a re-run resumes after them
    }
  };
  const { store, computed } = await buildFeatureStore(
    base,
    { key, rows: total, rowShape, shardRows: options.shardRows },
    compute,
    (finished) => {
      done = finished;
    },
  );
  if (fromOldNpy && computed.length === store.shardCount) fs.rmSync(oldNpy, { force: true });
  let loaded: tf.Tensor | undefined;
  return {
    store,
    file: store.dir,
    cached: computed.length === 0,
    computedShards: computed,
    key,
    get features() {
      loaded ??= store.load();
      return loaded;
    },
  };
}
