/** fitCollab on generated ratings with a known low-rank truth: each model recovers it; ids and unknown ids behave. */
import { beforeAll, describe, expect, it } from "vitest";
import * as dfd from "danfojs-node";
import { initBackend } from "../lib/engine/backend";
import { generateRatings, randomSplit, toDataFrame } from "../lib/datasets/movielens";
import * as tf from "@tensorflow/tfjs";
import {
  activityL2,
  CentredL2,
  fitBiasBaseline,
  fitCollab,
  rmse,
  type CollabKind,
} from "../lib/collab/index";
import { KeyboardInterrupt } from "../lib/engine/interrupt";

const NOISE = 0.3;
const data = generateRatings({
  users: 150,
  movies: 200,
  factors: 2,
  density: 0.5,
  noise: NOISE,
  seed: 11,
});
const { train, valid } = randomSplit(data.ratings, 0.2, 5);
const actual = valid.map((r) => r.rating);
const ids = (rows: typeof valid) =>
  [rows.map((r) => r.userId), rows.map((r) => r.movieId)] as const;

beforeAll(async () => {
  await initBackend("wasm");
});

describe("fitBiasBaseline", () => {
  it("beats the global mean but cannot capture the latent factors", () => {
    const base = fitBiasBaseline(train);
    const e = rmse(base.predict(...ids(valid)), actual);
    const meanOnly = rmse(new Float32Array(valid.length).fill(base.mean), actual);
    expect(e).toBeLessThan(meanOnly);
    expect(e).toBeGreaterThan(NOISE * 1.2);
  });
});

const settings: Record<CollabKind, object> = {
  dot: { factors: 4, l2: 1e-4, batchSize: 64, schedule: [{ lr: 1e-2, epochs: 12 }] },
  bias: { factors: 4, l2: 1e-4, batchSize: 64, schedule: [{ lr: 1e-2, epochs: 12 }] },
  // The lesson's dropout (0.3, 0.75) is far too strong for 24k ratings; the architecture is the same.
  nn: {
    factors: 8,
    l2: 1e-4,
    batchSize: 64,
    dropout: [0.05, 0.05],
    schedule: [{ lr: 5e-3, epochs: 15 }],
  },
};

describe.each(["dot", "bias", "nn"] as CollabKind[])("fitCollab model %s", (kind) => {
  it("recovers the low-rank truth (validation RMSE below noise x 1.2)", async () => {
    const result = await fitCollab(train, {
      model: kind,
      ...settings[kind],
      validation: valid,
      seed: 3,
    });
    const e = rmse(result.predict(...ids(valid)), actual);
    console.log(
      `${kind}: validation RMSE ${e.toFixed(4)} (noise ${NOISE}); per epoch ${result.history.map((h) => h.valRmse!.toFixed(3)).join(" ")}`,
    );
    expect(e).toBeLessThan(NOISE * 1.2);
    expect(result.history[result.bestEpoch].valRmse).toBeCloseTo(e, 4);
  }, 120_000);
});

describe("fitCollab ids", () => {
  it("takes a DataFrame, predicts by MovieLens id, falls back for unknown ids, recommends unseen movies", async () => {
    const small = train.slice(0, 800);
    const result = await fitCollab(toDataFrame(small) as dfd.DataFrame, {
      model: "bias",
      factors: 4,
      schedule: [{ lr: 1e-2, epochs: 2 }],
      batchSize: 128,
    });
    expect(result.history.length).toBe(2);
    const u = small[0].userId;
    const m = small[0].movieId;
    const p = result.predict([u, 99999, u], [m, m, 3]);
    expect(Number.isFinite(p[0])).toBe(true);
    // 99999 is not a user here and 3 not a generated movie id (10, 17, 24, ...): mean + the known side's bias.
    expect(p.fallbacks).toBe(2);
    expect(Array.from(p).every(Number.isFinite)).toBe(true);
    for (const id of new Set(small.map((r) => r.movieId)))
      expect(result.movies.id(result.movies.index(id))).toBe(id);
    const recs = result.recommend(u, 5);
    const rated = new Set(small.filter((r) => r.userId === u).map((r) => r.movieId));
    expect(recs.length).toBe(5);
    expect(recs.some((r) => rated.has(r.movieId))).toBe(false);
    expect(recs[0].score).toBeGreaterThanOrEqual(recs[4].score);
    expect(result.predict([u], [recs[0].movieId])[0]).toBeCloseTo(Math.min(5, recs[0].score), 4);
    expect(result.recommend(424242, 5)).toEqual([]);
  }, 60_000);
});

describe("activityL2 (per-occurrence L2 on looked-up vectors)", () => {
  it("adds rate x mean over the batch of sum(x²) to the training loss and shrinks only the rows the batch used", async () => {
    const rate = 0.5;
    const weights = [
      [1, 2],
      [3, -1],
      [0.5, 0.5],
      [-2, 1],
    ];
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({
          inputDim: 4,
          outputDim: 2,
          inputLength: 1,
          weights: [tf.tensor2d(weights)],
        }),
        tf.layers.flatten(),
        activityL2(rate),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
    const rows = [0, 0, 1];
    const x = tf.tensor2d(rows, [3, 1], "int32");
    const y = tf.tensor2d(rows.map((r) => weights[r])); // targets = outputs: the MSE and its gradient are 0
    const loss = Number(await model.trainOnBatch(x, y));
    const sumSquares = (r: number) => weights[r][0] ** 2 + weights[r][1] ** 2;
    expect(loss).toBeCloseTo((rate * (2 * sumSquares(0) + sumSquares(1))) / 3, 5);
    const after = model.layers[0].getWeights()[0].arraySync() as number[][];
    // d/dw of rate * sum over occurrences of |w|² / batch = 2 * rate * count * w / batch; SGD step 0.1.
    const expected = weights.map((w, r) =>
      w.map((v) => v - (0.1 * 2 * rate * rows.filter((k) => k === r).length * v) / 3),
    );
    after.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(expected[r][c], 5)));
    expect(() => activityL2(-1)).toThrow(/rate >= 0/);
  });
});

describe("centred penalties (a prior centred on the vectors' learned mean)", () => {
  it("CentredL2 is l2 x sum of squared distances from the row mean, 0 when all rows agree, and an Embedding accepts it", () => {
    const w = [
      [1, 2],
      [3, -1],
      [2, 5],
    ];
    const mean = [2, 2];
    const expected =
      0.1 * w.reduce((s, row) => s + (row[0] - mean[0]) ** 2 + (row[1] - mean[1]) ** 2, 0);
    expect(new CentredL2({ l2: 0.1 }).apply(tf.tensor2d(w)).dataSync()[0]).toBeCloseTo(expected, 5);
    expect(
      new CentredL2({ l2: 0.1 })
        .apply(
          tf.tensor2d([
            [4, -3],
            [4, -3],
          ]),
        )
        .dataSync()[0],
    ).toBeCloseTo(0, 6);
    expect(() =>
      tf.layers.embedding({
        inputDim: 3,
        outputDim: 2,
        embeddingsRegularizer: new CentredL2({ l2: 0.1 }),
      }),
    ).not.toThrow();
    expect(() => new CentredL2({ l2: -1 })).toThrow(/l2 >= 0/);
  });

  it("centred activityL2 adds rate x mean over the batch of |x - batch mean|²", async () => {
    const rate = 0.5;
    const weights = [
      [1, 2],
      [3, -1],
    ];
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({
          inputDim: 2,
          outputDim: 2,
          inputLength: 1,
          weights: [tf.tensor2d(weights)],
        }),
        tf.layers.flatten(),
        activityL2(rate, undefined, true),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0), loss: "meanSquaredError" });
    const rows = [0, 0, 1];
    const loss = Number(
      await model.trainOnBatch(
        tf.tensor2d(rows, [3, 1], "int32"),
        tf.tensor2d(rows.map((r) => weights[r])),
      ),
    );
    const mean = [0, 1].map((c) => rows.reduce((s, r) => s + weights[r][c], 0) / 3);
    const spread =
      rows.reduce(
        (s, r) => s + (weights[r][0] - mean[0]) ** 2 + (weights[r][1] - mean[1]) ** 2,
        0,
      ) / 3;
    expect(loss).toBeCloseTo(rate * spread, 5);
  });
});

describe("fitCollab interrupted", () => {
  it("ends with its own epoch count and frees every tensor it made", async () => {
    const ratings = data.ratings.slice(0, 600);
    const before = tf.memory().numTensors;
    let batches = 0;
    // As the kernel's interrupt ends a fit: an error out of a callback (here, as epoch 2 begins).
    const stopInSecondEpoch = {
      onEpochBegin: async (epoch: number) => {
        if (epoch === 1) throw new KeyboardInterrupt("stop");
      },
      onBatchEnd: async () => void batches++,
    };
    const training = fitCollab(ratings, {
      model: "bias",
      factors: 4,
      schedule: [{ lr: 0.01, epochs: 3 }],
      callbacks: stopInSecondEpoch,
    });
    await expect(training).rejects.toThrow(/^fitCollab stopped by the interrupt in epoch 2 of 3/);
    expect(batches).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
