import { describe, it, expect, beforeAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { generateStateFarm } from "../lib/statefarm/generator";
import sharp from "sharp";
import { loadImages, loadImagesForWarp, imageBatches } from "../lib/vision/images";
import { ImageDataGenerator } from "../lib/vision/augment";
import { saveArray, loadArray } from "../lib/vision/npy";
import { precomputeFeatures, type FeatureModel } from "../lib/vision/pretrained";

let root: string;
let files: string[];

/** A tiny stand-in extractor (the real MobileNet is tested by the generate script). */
function tinyExtractor(id: string): FeatureModel {
  const model = tf.sequential({
    layers: [tf.layers.averagePooling2d({ poolSize: 8, inputShape: [32, 32, 3] })],
  });
  return { model, id, source: "test", inputSize: 32 };
}

beforeAll(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), "sf-vision-"));
  await generateStateFarm(path.join(root, "sf"), {
    drivers: 1,
    imagesPerClass: 1,
    testImages: 0,
    width: 40,
    height: 30,
  });
  files = fs
    .readdirSync(path.join(root, "sf", "imgs", "train"))
    .map((c) =>
      path.join(
        root,
        "sf",
        "imgs",
        "train",
        c,
        fs.readdirSync(path.join(root, "sf", "imgs", "train", c))[0],
      ),
    );
});

describe("images to tensors", () => {
  it("loads and resizes to the requested size and scale", async () => {
    const x = await loadImages(files.slice(0, 3), { width: 16, height: 12, scale: "symmetric" });
    expect(x.shape).toEqual([3, 12, 16, 3]);
    expect(x.min().dataSync()[0]).toBeGreaterThanOrEqual(-1);
    expect(x.max().dataSync()[0]).toBeLessThanOrEqual(1);
  });
  it("streams labelled batches in order", async () => {
    const items = files.map((p, label) => ({ path: p, label }));
    const sizes: number[] = [];
    const labels: number[] = [];
    for await (const b of imageBatches(items, { batchSize: 4, width: 8, height: 6 })) {
      sizes.push(b.xs.shape[0]);
      labels.push(...(b.ys!.argMax(1).dataSync() as Int32Array));
      b.xs.dispose();
      b.ys!.dispose();
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect(labels).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it("stopping early or a bad file in a later batch leaves no tensor behind, and the error names the file", async () => {
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    const before = tf.memory().numTensors;
    for await (const b of imageBatches(files, {
      batchSize: 3,
      width: 8,
      height: 6,
      transform: (x) => x.mul(2) as tf.Tensor4D,
    })) {
      b.xs.dispose();
      break; // the second batch is being decoded meanwhile
    }
    await settle();
    expect(tf.memory().numTensors).toBe(before);
    const bad = path.join(root, "bad-in-batch.jpg");
    fs.writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]));
    const seen: number[] = [];
    const run = async () => {
      for await (const b of imageBatches([...files.slice(0, 4), bad, ...files.slice(4)], {
        batchSize: 4,
        width: 8,
        height: 6,
      })) {
        seen.push(b.xs.shape[0]);
        await settle(); // the bad batch fails while this one is in use
        b.xs.dispose();
      }
    };
    await expect(run()).rejects.toThrow(/bad-in-batch\.jpg/);
    expect(seen).toEqual([4]);
    await settle();
    expect(tf.memory().numTensors).toBe(before);
  });
  it("augment: photos up to twice the output size are resized in the augmentation's warp, larger or mixed ones by sharp first", async () => {
    const options = {
      rotation_range: 10,
      width_shift_range: 0.1,
      channel_shift_range: 20,
      seed: 3,
    };
    // the fixture's photos are 40x30: at most twice 24x18 (decoded as they are), more than twice 16x12
    expect((await loadImagesForWarp(files.slice(0, 2), 24, 18)).shape).toEqual([2, 30, 40, 3]);
    expect((await loadImagesForWarp(files.slice(0, 2), 16, 12)).shape).toEqual([2, 12, 16, 3]);
    const big = path.join(root, "big.jpg");
    await sharp({
      create: { width: 90, height: 70, channels: 3, background: { r: 200, g: 90, b: 10 } },
    })
      .jpeg()
      .toFile(big);
    expect((await loadImagesForWarp([files[0], big], 24, 18)).shape).toEqual([2, 18, 24, 3]); // mixed: all at the output size
    // each batch is the generator's random(photos, output size), in order
    const seen: tf.Tensor4D[] = [];
    for await (const b of imageBatches(files, {
      batchSize: 4,
      width: 24,
      height: 18,
      augment: new ImageDataGenerator(options),
      transform: (x) => x.div(255) as tf.Tensor4D,
    }))
      seen.push(b.xs);
    expect(seen.map((x) => x.shape)).toEqual([
      [4, 18, 24, 3],
      [4, 18, 24, 3],
      [2, 18, 24, 3],
    ]);
    const ref = new ImageDataGenerator(options);
    for (let i = 0; i < 3; i++) {
      const photos = await loadImagesForWarp(files.slice(4 * i, 4 * i + 4), 24, 18);
      expect(Array.from(seen[i].dataSync())).toEqual(
        Array.from(ref.random(photos, { width: 24, height: 18 }).div(255).dataSync()),
      );
    }
    tf.dispose(seen);
    const run = async () => {
      for await (const b of imageBatches(files, {
        width: 24,
        height: 18,
        scale: "unit",
        augment: new ImageDataGenerator(options),
      }))
        b.xs.dispose();
    };
    await expect(run()).rejects.toThrow(/augment needs scale "255"/);
  });
  it("names the file that cannot be decoded", async () => {
    const bad = path.join(root, "bad.jpg");
    fs.writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]));
    await expect(loadImages([bad])).rejects.toThrow(/bad\.jpg/);
    await expect(loadImagesForWarp([files[0], bad], 24, 18)).rejects.toThrow(/bad\.jpg/);
  });
});

describe(".npy arrays", () => {
  it("round-trips shape, dtype and values", async () => {
    const file = path.join(root, "a.npy");
    const t = tf.tensor3d([1.5, -2, 3, 4, 5, 6], [1, 2, 3]);
    await saveArray(file, t);
    expect(fs.readFileSync(file).subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
    expect((fs.readFileSync(file).readUInt16LE(8) + 10) % 64).toBe(0);
    const back = loadArray(file);
    expect(back.shape).toEqual([1, 2, 3]);
    expect(Array.from(back.dataSync())).toEqual([1.5, -2, 3, 4, 5, 6]);
  });
});

describe("precomputeFeatures", () => {
  it("computes once, reuses the cache, and recomputes when images, model or augmentation change", async () => {
    const cacheDir = path.join(root, "features");
    const a = await precomputeFeatures(files, tinyExtractor("m1"), { cacheDir, name: "t" });
    expect(a.cached).toBe(false);
    expect(a.features.shape).toEqual([10, 4, 4, 3]);
    const b = await precomputeFeatures(files, tinyExtractor("m1"), { cacheDir, name: "t" });
    expect(b.cached).toBe(true);
    expect(b.file).toBe(a.file);
    expect(Array.from(b.features.dataSync())).toEqual(Array.from(a.features.dataSync()));
    const otherModel = await precomputeFeatures(files, tinyExtractor("m2"), {
      cacheDir,
      name: "t",
    });
    expect(otherModel.cached).toBe(false);
    const augmented = await precomputeFeatures(files, tinyExtractor("m1"), {
      cacheDir,
      name: "t",
      augment: { width_shift_range: 0.1, seed: 1 },
      epochs: 2,
    });
    expect(augmented.cached).toBe(false);
    expect(augmented.features.shape).toEqual([20, 4, 4, 3]);
    // Change one image's bytes: the key changes.
    fs.copyFileSync(files[1], files[0]);
    const changed = await precomputeFeatures(files, tinyExtractor("m1"), { cacheDir, name: "t" });
    expect(changed.cached).toBe(false);
    expect(changed.file).not.toBe(a.file);
  });
});
