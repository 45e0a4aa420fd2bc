/**
 * The sharded feature store and the streamed State Farm path (issue 22): shards equal to the
 * unsharded computation, resume, damaged shards recomputed, streamed batches, training,
 * prediction and submission equal to their in-memory versions. Small generated photos and a tiny
 * stand-in extractor: no network, no MobileNet.
 */
import { describe, it, expect, beforeAll, vi } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { generateStateFarm } from "../lib/statefarm/generator";
import { imageBatches } from "../lib/vision/images";
import { saveArray } from "../lib/vision/npy";
import {
  extractFeatures,
  featureKey,
  precomputeFeatures,
  type FeatureModel,
} from "../lib/vision/pretrained";
import type { RowSource } from "../lib/vision/feature-store";
import { featureHead } from "../lib/statefarm/models";
import {
  compileClassifier,
  evaluate,
  evaluateStreamed,
  predictBatches,
  predictProbs,
  rows,
  trainClassifier,
  trainStreamed,
} from "../lib/statefarm/train";
import { pseudoPart } from "../lib/statefarm/pseudo";
import {
  checkSubmission,
  writeSubmission,
  writeSubmissionStreamed,
} from "../lib/statefarm/submission";
import { oneHot } from "../lib/vision/images";

let root: string;
let files: string[];
const SHARD = 8; // 27 photos: shards of 8, 8, 8 and 3 rows

/** A tiny frozen stand-in for MobileNet: 32x32x3 -> 4x4x3 (then max2 pooling: 2x2x3). */
function tinyExtractor(): FeatureModel {
  const model = tf.sequential({
    layers: [tf.layers.averagePooling2d({ poolSize: 8, inputShape: [32, 32, 3] })],
  });
  model.trainable = false;
  return { model, id: "tiny", source: "test", inputSize: 32 };
}

const extractor = () => tinyExtractor();
const options = (cacheDir: string) => ({ cacheDir, name: "t", shardRows: SHARD, batchSize: 4 });
const values = (t: tf.Tensor) => Array.from(t.dataSync());
const shardPath = (dir: string, i: number) =>
  path.join(dir, `shard-${String(i).padStart(5, "0")}.npy`);

beforeAll(async () => {
  await initBackend("wasm");
  root = fs.mkdtempSync(path.join(os.tmpdir(), "feature-store-"));
  const made = await generateStateFarm(path.join(root, "sf"), {
    drivers: 1,
    imagesPerClass: 2,
    testImages: 7,
    width: 40,
    height: 30,
  });
  files = [
    ...made.train.map((e) => path.join(root, "sf", "imgs", "train", e.classname, e.img)),
    ...made.test.map((img) => path.join(root, "sf", "imgs", "test", img)),
  ];
});

/** The unsharded computation: every photo in one batch, as precomputeFeatures transforms it. */
async function unsharded(model: FeatureModel): Promise<number[]> {
  for await (const batch of imageBatches(files, {
    width: 32,
    height: 32,
    batchSize: files.length,
    transform: (x) => x.div(127.5).sub(1) as tf.Tensor4D,
  })) {
    const out = tf.tidy(() => tf.maxPool(extractFeatures(model, batch.xs), 2, 2, "valid"));
    batch.xs.dispose();
    const v = values(out);
    out.dispose();
    return v;
  }
  throw new Error("no batch");
}

describe("the sharded feature store", () => {
  it("writes shards and a manifest that read back equal to the unsharded computation", async () => {
    const cacheDir = path.join(root, "equal");
    const model = extractor();
    const f = await precomputeFeatures(files, model, { ...options(cacheDir), pool: "max2" });
    expect(f.cached).toBe(false);
    expect(f.computedShards).toEqual([0, 1, 2, 3]);
    expect(f.store.rows).toBe(27);
    expect(f.store.rowShape).toEqual([2, 2, 3]);
    const names = fs.readdirSync(f.file).sort();
    expect(names).toEqual([
      "manifest.json",
      "shard-00000.npy",
      "shard-00001.npy",
      "shard-00002.npy",
      "shard-00003.npy",
    ]);
    const manifest = JSON.parse(fs.readFileSync(path.join(f.file, "manifest.json"), "utf8"));
    expect(manifest.shards["3"].rows).toBe(3);
    expect(manifest.shards["0"].sha256).toMatch(/^[0-9a-f]{64}$/);
    const expected = await unsharded(model);
    expect(values(f.features)).toEqual(expected);
    // In order, batch by batch: the same rows again.
    const streamed: number[] = [];
    for await (const b of f.store.batches(5)) {
      streamed.push(...values(b));
      b.dispose();
    }
    expect(streamed).toEqual(expected);
    const again = await precomputeFeatures(files, model, { ...options(cacheDir), pool: "max2" });
    expect(again.cached).toBe(true);
    expect(again.computedShards).toEqual([]);
    f.features.dispose();
  });

  it("resumes an interrupted pass: only the shards it had not finished are computed", async () => {
    const cacheDir = path.join(root, "resume");
    const model = extractor();
    const interrupted = precomputeFeatures(files, model, {
      ...options(cacheDir),
      onProgress: (done) => {
        if (done >= 20) throw new Error("interrupted in shard 2");
      },
    });
    await expect(interrupted).rejects.toThrow(/interrupted in shard 2/);
    const dir = fs.readdirSync(cacheDir).map((d) => path.join(cacheDir, d))[0];
    expect(fs.readdirSync(dir).sort()).toEqual([
      "manifest.json",
      "shard-00000.npy",
      "shard-00001.npy",
    ]); // no half-written shard, no temp file
    const progress: number[] = [];
    const resumed = await precomputeFeatures(files, model, {
      ...options(cacheDir),
      onProgress: (done) => progress.push(done),
    });
    expect(resumed.computedShards).toEqual([2, 3]);
    expect(progress[0]).toBe(20); // 16 rows were already done, then a batch of 4
    const whole = await precomputeFeatures(files, model, options(path.join(root, "resume-ref")));
    expect(values(resumed.features)).toEqual(values(whole.features));
    tf.dispose([resumed.features, whole.features]);
  });

  it("detects a truncated shard and one with flipped bytes, and recomputes them", async () => {
    const cacheDir = path.join(root, "damaged");
    const model = extractor();
    const first = await precomputeFeatures(files, model, options(cacheDir));
    const good = values(first.features);
    first.features.dispose();
    const truncated = shardPath(first.file, 1);
    fs.truncateSync(truncated, fs.statSync(truncated).size - 7);
    const flipped = shardPath(first.file, 2);
    const bytes = fs.readFileSync(flipped);
    bytes[bytes.length - 5] ^= 0xff; // same size, different data
    fs.writeFileSync(flipped, bytes);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const again = await precomputeFeatures(files, model, options(cacheDir));
      expect(again.computedShards).toEqual([1, 2]);
      const lines = warn.mock.calls.map((c) => String(c[0]));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/shard-00001\.npy has \d+ bytes, the manifest lists \d+/);
      expect(lines[1]).toMatch(/shard-00002\.npy does not match its sha256 checksum/);
      expect(values(again.features)).toEqual(good);
      again.features.dispose();
      fs.writeFileSync(path.join(first.file, "manifest.json"), '{"format": "lesson4-feat');
      const unreadable = await precomputeFeatures(files, model, options(cacheDir));
      expect(unreadable.computedShards).toEqual([0, 1, 2, 3]);
      expect(String(warn.mock.calls[2][0])).toMatch(/manifest\.json is not valid JSON/);
      expect(values(unreadable.features)).toEqual(good);
      unreadable.features.dispose();
    } finally {
      warn.mockRestore();
    }
  });

  it("splits a cache from before the store into shards instead of recomputing it", async () => {
    const cacheDir = path.join(root, "old");
    const model = extractor();
    const key = featureKey(files, model, {});
    const old = tf.range(0, 27 * 48).reshape([27, 4, 4, 3]);
    await saveArray(path.join(cacheDir, `t-${key}.npy`), old);
    const f = await precomputeFeatures(files, model, options(cacheDir));
    expect(f.key).toBe(key);
    expect(values(f.features)).toEqual(values(old)); // the old file's rows, not the model's
    expect(fs.existsSync(path.join(cacheDir, `t-${key}.npy`))).toBe(false);
    tf.dispose([old, f.features]);
  });

  it("streams shuffled batches that hold every row exactly once per pass", async () => {
    const f = await precomputeFeatures(files, extractor(), options(path.join(root, "equal2")));
    const all = f.store.load();
    const rowKey = (v: number[]) => v.map((x) => x.toFixed(5)).join(",");
    const index = new Map<string, number>();
    ((await all.array()) as number[][][][]).forEach((r, i) => index.set(rowKey(r.flat(2)), i));
    expect(index.size).toBe(27); // rows differ, so each is found by its values
    const passes: number[][] = [];
    for (const seed of [1, 2]) {
      const seen: number[] = [];
      for await (const b of f.store.batches(5, { shuffle: true, seed })) {
        for (const r of (await b.array()) as number[][][][])
          seen.push(index.get(rowKey(r.flat(2)))!);
        b.dispose();
      }
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 27 }, (_, i) => i));
      passes.push(seen);
    }
    expect(passes[0]).not.toEqual(passes[1]);
    expect(passes[0]).not.toEqual(Array.from({ length: 27 }, (_, i) => i));
    all.dispose();
  });
});

describe("the streamed State Farm path", () => {
  const labels = Array.from({ length: 27 }, (_, i) => i % 10);

  it("trains on every row of every part once per epoch, leaving no tensors behind", async () => {
    const f = await precomputeFeatures(files, extractor(), options(path.join(root, "train")));
    const reads = new Map<string, number[]>();
    const spy = (name: string, source: RowSource): RowSource => ({
      rows: source.rows,
      rowShape: source.rowShape,
      readRows: (idx) => {
        reads.set(name, [...(reads.get(name) ?? []), ...Array.from(idx)]);
        return source.readRows(idx);
      },
    });
    const model = compileClassifier(featureHead(f.store.rowShape, { p: 0.5, seed: 1 }));
    const probs = Array.from({ length: 27 }, () => Array(10).fill(0.1));
    const parts = [
      { x: spy("labelled", f.store), y: labels },
      pseudoPart(spy("pseudo", f.store), probs, "soft"),
    ];
    const history = await trainStreamed(
      model,
      parts,
      { x: spy("valid", f.store), labels },
      { epochs: 2, batchSize: 8, title: false, seed: 3 },
    );
    expect(history).toHaveLength(2);
    expect(Number.isFinite(history[1].valLoss)).toBe(true);
    const count = (name: string) => {
      const c = new Array<number>(27).fill(0);
      for (const r of reads.get(name)!) c[r]++;
      return c;
    };
    expect(count("labelled")).toEqual(new Array(27).fill(2));
    expect(count("pseudo")).toEqual(new Array(27).fill(2));
    expect(count("valid")).toEqual(new Array(27).fill(2));
    expect(() => pseudoPart(f.store, probs.slice(1), "soft")).toThrow(/26 predictions for 27/);
    // Training again leaves as many tensors as before (the first run made the Adam state).
    const before = tf.memory().numTensors;
    await trainStreamed(model, parts, { x: f.store, labels }, { epochs: 1, title: false });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it("trains, predicts and scores as the in-memory path does", async () => {
    const f = await precomputeFeatures(files, extractor(), options(path.join(root, "same")));
    const x = f.store.load();
    const set = { x, y: oneHot(labels), labels };
    const opts = { epochs: 3, batchSize: 8, title: false as const, seed: 7 };
    const inMemory = compileClassifier(featureHead(f.store.rowShape, { p: 0.5, seed: 5 }));
    const streamed = compileClassifier(featureHead(f.store.rowShape, { p: 0.5, seed: 5 }));
    const a = await trainClassifier(inMemory, set, set, opts);
    const b = await trainStreamed(
      streamed,
      [{ x: f.store, y: labels }],
      { x: f.store, labels },
      opts,
    );
    for (let e = 0; e < 3; e++) {
      expect(b[e].loss).toBeCloseTo(a[e].loss, 4);
      expect(b[e].valLoss).toBeCloseTo(a[e].valLoss, 4);
    }
    const p = predictProbs(streamed, x);
    const whole = await rows(p);
    p.dispose();
    const batched: number[][] = [];
    for await (const chunk of predictBatches(streamed, f.store, 10)) batched.push(...chunk);
    expect(batched.flat()).toEqual(whole.flat());
    const e1 = await evaluate(streamed, set);
    const e2 = await evaluateStreamed(streamed, { x: f.store, labels });
    expect(e2.loss).toBeCloseTo(e1.loss, 6);
    expect(e2.accuracy).toBe(e1.accuracy);
    tf.dispose([x, set.y]);
    inMemory.dispose();
    streamed.dispose();
  });

  it("writes the same submission batch by batch as in one go, and nothing when it fails", async () => {
    const images = files.slice(20);
    const probs = images.map((_, i) => {
      const r = Array.from({ length: 10 }, (_, k) => (((i + 1) * (k + 2)) % 7) + 0.5);
      const s = r.reduce((a, v) => a + v, 0);
      return r.map((v) => v / s);
    });
    const dir = path.join(root, "submissions");
    writeSubmission(path.join(dir, "whole.csv"), images, probs);
    async function* chunks() {
      for (let i = 0; i < probs.length; i += 3) yield probs.slice(i, i + 3);
    }
    const n = await writeSubmissionStreamed(path.join(dir, "streamed.csv"), images, chunks());
    expect(n).toBe(7);
    expect(fs.readFileSync(path.join(dir, "streamed.csv"), "utf8")).toBe(
      fs.readFileSync(path.join(dir, "whole.csv"), "utf8"),
    );
    expect(checkSubmission(path.join(dir, "streamed.csv"), images).rows).toBe(7);
    async function* short() {
      yield probs.slice(0, 3);
    }
    await expect(
      writeSubmissionStreamed(path.join(dir, "short.csv"), images, short()),
    ).rejects.toThrow(/7 image names for 3 rows/);
    async function* failing() {
      yield probs.slice(0, 3);
      throw new Error("prediction failed");
    }
    await expect(
      writeSubmissionStreamed(path.join(dir, "failed.csv"), images, failing()),
    ).rejects.toThrow(/prediction failed/);
    expect(fs.readdirSync(dir).sort()).toEqual(["streamed.csv", "whole.csv"]);
  });
});
