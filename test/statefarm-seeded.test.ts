import { describe, it, expect, beforeAll } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { convModel, featureHead } from "../lib/statefarm/models";
import { compileClassifier, trainClassifier } from "../lib/statefarm/train";
import { SeededDropout, seedTraining } from "../lib/engine/seeded";
import { ImageDataGenerator } from "../lib/vision/augment";
import { Rng } from "../lib/vision/random";

beforeAll(async () => {
  await initBackend("wasm");
});

/** A tiny labelled image set from a fixed Rng (not tfjs' random ops). */
function tinySet(n: number, seed: number) {
  const rng = new Rng(seed);
  const labels = Array.from({ length: n }, (_, i) => i % 10);
  const x = tf.tensor4d(
    Array.from({ length: n * 20 * 20 * 3 }, () => rng.uniform(0, 255)),
    [n, 20, 20, 3],
  );
  return { x, y: tf.oneHot(labels, 10).toFloat() as tf.Tensor2D, labels };
}

async function weightsOf(model: tf.LayersModel): Promise<number[]> {
  return (await Promise.all(model.getWeights().map((w) => w.data()))).flatMap((d) => Array.from(d));
}

/** Builds and trains a small CNN with dropout and augmentation; returns its history and final weights. */
async function trainSmall(seed: number | undefined) {
  const trn = tinySet(40, 1),
    val = tinySet(20, 2);
  const m = compileClassifier(
    convModel([20, 20, 3], { filters: [4, 4], dense: 16, dropout: 0.5, seed }),
    1e-2,
  );
  const history = await trainClassifier(m, trn, val, {
    epochs: 3,
    batchSize: 8,
    seed,
    augment: new ImageDataGenerator({ rotation_range: 10, width_shift_range: 0.1, seed: 3 }),
    title: false,
  });
  const weights = await weightsOf(m);
  m.dispose();
  tf.dispose([trn.x, trn.y, val.x, val.y]);
  return { history, weights };
}

describe("seeded training", () => {
  it("the same seed gives identical histories and weights; another seed differs", async () => {
    const a = await trainSmall(5),
      b = await trainSmall(5),
      c = await trainSmall(6);
    expect(b.history).toEqual(a.history);
    expect(b.weights).toEqual(a.weights);
    expect(c.weights).not.toEqual(a.weights);
    expect(c.history).not.toEqual(a.history);
  }, 60_000);

  it("seedTraining makes unseeded models and runs repeat, in order", async () => {
    seedTraining(11);
    const a1 = await trainSmall(undefined),
      a2 = await trainSmall(undefined);
    seedTraining(11);
    const b1 = await trainSmall(undefined),
      b2 = await trainSmall(undefined);
    expect(b1.weights).toEqual(a1.weights);
    expect(b2.weights).toEqual(a2.weights);
    expect(a2.weights).not.toEqual(a1.weights);
    expect(() => seedTraining(-1)).toThrow(/seed/);
  }, 60_000);

  it("feature heads with the same seed start from the same weights", async () => {
    const w = async (seed: number) => {
      const m = featureHead([2, 2, 8], { seed });
      const out = await weightsOf(m);
      m.dispose();
      return out;
    };
    expect(await w(3)).toEqual(await w(3));
    expect(await w(3)).not.toEqual(await w(4));
  });
});

describe("SeededDropout", () => {
  it("draws a new mask on every training call, repeatable for a seed, scaled by 1 / (1 - rate)", () => {
    const x = tf.ones([1, 400]);
    const masks = (seed: number) => {
      const layer = new SeededDropout({ rate: 0.25, seed });
      return [0, 1].map(() =>
        Array.from((layer.apply(x, { training: true }) as tf.Tensor).dataSync()),
      );
    };
    const [m1, m2] = masks(9);
    expect(m1).not.toEqual(m2);
    expect(masks(9)).toEqual([m1, m2]);
    expect(new Set(m1)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
    const dropped = m1.filter((v) => v === 0).length / m1.length;
    expect(dropped).toBeGreaterThan(0.15);
    expect(dropped).toBeLessThan(0.35);
  });

  it("is the identity at inference and survives a config round trip", () => {
    const layer = new SeededDropout({ rate: 0.5, seed: 1 });
    const x = tf.tensor2d([[1, 2, 3]]);
    expect(Array.from((layer.apply(x) as tf.Tensor).dataSync())).toEqual([1, 2, 3]);
    expect(layer.getConfig()).toMatchObject({ rate: 0.5, seed: 1 });
    expect(() => new SeededDropout({ rate: 1, seed: 1 })).toThrow(/rate/);
  });
});
