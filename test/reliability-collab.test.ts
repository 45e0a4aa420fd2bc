/**
 * Collaborative filtering never answers NaN for an id it has not seen (a counted fallback instead),
 * and training and predicting leave no tensors behind.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { generateRatings } from "../lib/datasets/movielens";
import { fitCollab, layerRows, LAYERS, type CollabOptions } from "../lib/collab/index";

const ratings = generateRatings({
  users: 40,
  movies: 60,
  factors: 2,
  density: 0.4,
  seed: 4,
}).ratings;
const quick: CollabOptions = { factors: 3, batchSize: 64, schedule: [{ lr: 1e-2, epochs: 2 }] };
const UNKNOWN_USER = 987654;
const UNKNOWN_MOVIE = 123456;

beforeAll(async () => {
  await initBackend("wasm");
});

describe("predict for ids never seen in training", () => {
  it("bias model: the mean plus the known side's bias, else the mean; fallbacks counted", async () => {
    const result = await fitCollab(ratings, { ...quick, model: "bias" });
    const u = ratings[0].userId;
    const m = ratings[0].movieId;
    const mean = ratings.reduce((s, r) => s + r.rating, 0) / ratings.length;
    expect(result.mean).toBeCloseTo(mean, 5);
    const userBias = layerRows(result.model, LAYERS.userBias)[result.users.index(u)][0];
    const movieBias = layerRows(result.model, LAYERS.movieBias)[result.movies.index(m)][0];
    const p = result.predict(
      [u, UNKNOWN_USER, u, UNKNOWN_USER],
      [m, m, UNKNOWN_MOVIE, UNKNOWN_MOVIE],
    );
    expect(p).toBeInstanceOf(Float32Array);
    expect(p.fallbacks).toBe(3);
    expect(Array.from(p).every(Number.isFinite)).toBe(true);
    expect(p[0]).toBeCloseTo(result.predict([u], [m])[0], 6);
    expect(p[1]).toBeCloseTo(mean + movieBias, 5);
    expect(p[2]).toBeCloseTo(mean + userBias, 5);
    expect(p[3]).toBeCloseTo(mean, 5);
    expect(result.predict([u], [m]).fallbacks).toBe(0);
    result.dispose();
  });

  it("dot and nn models (no biases) and an uncentred bias model fall back to the training mean", async () => {
    const mean = ratings.reduce((s, r) => s + r.rating, 0) / ratings.length;
    const kinds: CollabOptions[] = [
      { model: "dot" },
      { model: "nn", hidden: 8 },
      { model: "bias", centre: false },
    ];
    for (const options of kinds) {
      const result = await fitCollab(ratings, { ...quick, ...options });
      const p = result.predict(
        [ratings[0].userId, UNKNOWN_USER],
        [UNKNOWN_MOVIE, ratings[0].movieId],
      );
      expect(p.fallbacks).toBe(2);
      expect(Array.from(p)).toEqual([Math.fround(mean), Math.fround(mean)]);
      result.dispose();
    }
  });
});

describe("no tensors left behind", () => {
  it("fitCollab (with validation) leaves none once its result is disposed, after a warm-up", async () => {
    const train = ratings.slice(0, 500);
    const validation = ratings.slice(500, 650);
    for (const model of ["bias", "dot", "nn"] as const) {
      (await fitCollab(train, { ...quick, model, validation })).dispose(); // warm-up
      const before = tf.memory().numTensors;
      const result = await fitCollab(train, { ...quick, model, validation });
      expect(tf.memory().numTensors).toBeGreaterThan(before); // the model and its optimizer's state
      result.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it("predict and recommend leave none, with or without fallbacks", async () => {
    const result = await fitCollab(ratings, { ...quick, model: "bias" });
    const users = ratings.map((r) => r.userId).concat([UNKNOWN_USER]);
    const movies = ratings.map((r) => r.movieId).concat([ratings[0].movieId]);
    result.predict(users, movies); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      expect(result.predict(users, movies).fallbacks).toBe(1);
      expect(result.recommend(ratings[0].userId, 5)).toHaveLength(5);
      expect(tf.memory().numTensors).toBe(before);
    }
    result.dispose();
  });
});
