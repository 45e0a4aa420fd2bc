/** The notebook-03 helpers: stroke digits, the step-by-step comparison harness, and the optimizer race. */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import {
  compareStepByStep,
  digitTensors,
  generateDigits,
  race,
  raceFigure,
  smooth,
  standardComparisons,
  sgdStep,
} from "../lib/optimizers/index";

beforeAll(async () => {
  await initBackend("wasm");
});

describe("generateDigits", () => {
  it("repeats for a seed, balances the classes, and draws different classes differently", () => {
    const a = generateDigits({ count: 200, seed: 1 });
    const b = generateDigits({ count: 200, seed: 1 });
    const c = generateDigits({ count: 200, seed: 2 });
    expect(a.images).toEqual(b.images);
    expect(a.images).not.toEqual(c.images);
    expect(a.images.length).toBe(200 * 28 * 28);
    expect(a.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    const counts = new Array(10).fill(0);
    a.labels.forEach((l) => counts[l]++);
    expect(counts).toEqual(new Array(10).fill(20));
    // class means: a 1 has far less ink than an 8
    const ink = (digit: number) => {
      let sum = 0;
      let n = 0;
      a.labels.forEach((l, i) => {
        if (l === digit) {
          n++;
          for (let p = 0; p < 784; p++) sum += a.images[i * 784 + p];
        }
      });
      return sum / n;
    };
    expect(ink(8)).toBeGreaterThan(1.5 * ink(1));
  });
  it("rejects bad sizes", () => {
    expect(() => generateDigits({ count: 0, seed: 1 })).toThrow(
      /count must be a whole number >= 1/,
    );
    expect(() => generateDigits({ count: 5, seed: 1, size: 4 })).toThrow(/size/);
  });
});

describe("compareStepByStep", () => {
  it("every standard pair agrees to 1e-6 over 20 steps", () => {
    for (const c of standardComparisons())
      expect(compareStepByStep(c, 20).worst, c.name).toBeLessThan(1e-6);
  });
  it("reports a real difference (SGD against a rule with another learning rate)", () => {
    const sgd = standardComparisons()[0];
    const r = compareStepByStep(
      { ...sgd, lib: () => (ps, gs) => ps.map((p, i) => sgdStep(p, gs[i], 0.11)) },
      20,
    );
    expect(r.worst).toBeGreaterThan(1e-3);
    expect(r.steps).toHaveLength(20);
  });
});

describe("race", () => {
  it("trains each contender from the same start: equal optimizers give equal curves, and the loss drops", async () => {
    const train = digitTensors(generateDigits({ count: 200, seed: 3 }));
    const valid = digitTensors(generateDigits({ count: 50, seed: 4 }));
    const results = await race(
      [
        { name: "adam a", optimizer: () => tf.train.adam(0.01) },
        { name: "adam b", optimizer: () => tf.train.adam(0.01) },
        { name: "sgd", optimizer: () => tf.train.sgd(0.01) },
      ],
      { x: train.x, y: train.y, xValid: valid.x, yValid: valid.y },
      { epochs: 3, batchSize: 50, hidden: 16, seed: 7 },
    );
    expect(results[0].batchLoss).toEqual(results[1].batchLoss);
    expect(results[0].batchLoss).not.toEqual(results[2].batchLoss);
    expect(results[0].batchLoss).toHaveLength(12);
    expect(results[0].epochLoss[2]).toBeLessThan(results[0].epochLoss[0]);
    expect(results[0].validAccuracy.every((a) => a >= 0 && a <= 1)).toBe(true);
    expect(raceFigure(results).data).toHaveLength(6);
    tf.dispose([train.x, train.y, valid.x, valid.y]);
  });
  it("smooth is a bias-corrected moving average", () => {
    expect(smooth([2, 2, 2])).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 12)));
  });
});
