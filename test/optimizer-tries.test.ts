/** lib/optimizers/tries, the optimizer lessons' try-it helpers: checks, table, chart, a run. */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { Tries } from "../lib/display/tries";
import {
  digitTensors,
  generateDigits,
  race,
  SHEET_NAMES,
  simulateSheet,
} from "../lib/optimizers/index";
import { fixMomentumDispose } from "../lib/optimizers/memory";
import {
  checkChoice,
  checkDecay,
  checkOptimizerTry,
  LogScaleTries,
  makeTryOptimizer,
  OPTIMIZER_TRY_COLUMNS,
  TRY_OPTIMIZERS,
  type CheckedOptimizerTry,
  type OptimizerTry,
} from "../lib/optimizers/tries";

beforeAll(async () => {
  await initBackend("wasm");
  fixMomentumDispose();
});

describe("checks", () => {
  it("checkChoice names the setting and every choice", () => {
    expect(checkChoice("sheet", "adam", SHEET_NAMES)).toBe("adam");
    expect(() => checkChoice("sheet", "Adam", SHEET_NAMES)).toThrow(RangeError);
    expect(() => checkChoice("sheet", "Adam", SHEET_NAMES)).toThrow(
      'sheet must be one of "basic SGD", "momentum", "adagrad", "rmsprop", "adam", "eve", ' +
        '"adagrad_ann", "adam_ann"; got "Adam".',
    );
    expect(() => checkChoice("sheet", 3, SHEET_NAMES)).toThrow(/; got 3\.$/);
  });

  it("checkDecay takes [0, 1) only", () => {
    expect(checkDecay("beta1", 0)).toBe(0);
    expect(checkDecay("beta2", 0.999)).toBe(0.999);
    for (const bad of [1, -0.1, 1.5, NaN, "0.9", undefined]) {
      expect(() => checkDecay("beta1", bad)).toThrow(RangeError);
    }
    expect(() => checkDecay("beta1", 1)).toThrow(
      "beta1 must be a number, at least 0 and less than 1; got 1.",
    );
  });
});

describe("checkOptimizerTry", () => {
  it("fills in defaults in a fixed order: a default written out is the same try", () => {
    const short = checkOptimizerTry({ optimizer: "adam", lr: 0.001, epochs: 3 });
    const shuffled = { epochs: 3, beta2: 0.999, optimizer: "adam", lr: 0.001, beta1: 0.9 };
    const long = checkOptimizerTry(shuffled);
    expect(short).toEqual({ optimizer: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, epochs: 3 });
    expect(Tries.label(long)).toBe(Tries.label(short));
    const momentum = checkOptimizerTry({
      optimizer: "momentum",
      lr: 0.01,
      momentum: 0.5,
      epochs: 2,
    });
    expect(Tries.label(momentum)).toBe("optimizer=momentum, lr=0.01, momentum=0.5, epochs=2");
  });

  it("refuses a bad value with a RangeError naming it and its range", () => {
    const base: OptimizerTry = { optimizer: "adam", lr: 0.001, epochs: 3 };
    const lrRange = "lr must be a number, greater than 0 and at most 10";
    const epochsRange = "epochs must be a whole number, at least 1 and at most 50";
    const names = '"sgd", "momentum", "adagrad", "rmsprop", "adam", "eve"';
    const adamTakes = "optimizer, lr, beta1, beta2, epochs";
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ lr: 0 }, `${lrRange}; got 0.`],
      [{ lr: -0.01 }, `${lrRange}; got -0.01.`],
      [{ lr: "0.01" }, `${lrRange}; got "0.01".`],
      [{ epochs: 0 }, `${epochsRange}; got 0.`],
      [{ epochs: 2.5 }, `${epochsRange}; got 2.5.`],
      [{ beta1: 1 }, "beta1 must be a number, at least 0 and less than 1; got 1."],
      [{ beta2: -0.5 }, "beta2 must be a number, at least 0 and less than 1; got -0.5."],
      [{ optimizer: "nadam" }, `optimizer must be one of ${names}; got "nadam".`],
      [{ momentum: 0.9 }, `momentum is not a setting of adam, which takes ${adamTakes}.`],
    ];
    for (const [change, message] of cases) {
      const setting = { ...base, ...change } as OptimizerTry;
      expect(() => checkOptimizerTry(setting), message).toThrow(RangeError);
      expect(() => checkOptimizerTry(setting)).toThrow(message);
    }
    expect(() => checkOptimizerTry(null as unknown as OptimizerTry)).toThrow(RangeError);
    const fullMomentum = { optimizer: "momentum", lr: 0.01, momentum: 1, epochs: 1 };
    expect(() => checkOptimizerTry(fullMomentum)).toThrow(/momentum must be/);
    expect(() => checkOptimizerTry({ ...base, lr: 20 }, { maxLr: 100 })).not.toThrow();
  });
});

describe("makeTryOptimizer", () => {
  it("builds each optimizer with the try's settings; disposing it frees every tensor", () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    for (const name of Object.keys(TRY_OPTIMIZERS)) {
      const before = tf.memory().numTensors;
      const optimizer = makeTryOptimizer(
        checkOptimizerTry({ optimizer: name, lr: 0.01, epochs: 1 }),
      );
      tf.tidy(() => {
        optimizer.minimize(() => w.square().sum() as tf.Scalar);
      });
      optimizer.dispose();
      expect(tf.memory().numTensors, name).toBe(before);
    }
    const adamTry = { optimizer: "adam", lr: 0.02, beta1: 0.5, beta2: 0.75, epochs: 1 };
    const adam = makeTryOptimizer(checkOptimizerTry(adamTry));
    expect(adam.getConfig()).toMatchObject({ learningRate: 0.02, beta1: 0.5, beta2: 0.75 });
    adam.dispose();
    const momentumTry = { optimizer: "momentum", lr: 0.03, momentum: 0.6, epochs: 1 };
    const momentum = makeTryOptimizer(checkOptimizerTry(momentumTry));
    expect(momentum.getConfig()).toMatchObject({ learningRate: 0.03, momentum: 0.6 });
    momentum.dispose();
    w.dispose();
  });
});

describe("LogScaleTries", () => {
  it("log axis, diverged values left out, every setting column before the results", () => {
    const tries = new LogScaleTries("t", "loss", {
      columns: OPTIMIZER_TRY_COLUMNS,
      maxShown: 1e12,
    });
    const adam = { optimizer: "adam", lr: 0.1, beta1: 0.9, epochs: 3 };
    const momentum = { optimizer: "momentum", lr: 0.1, momentum: 0.9, epochs: 3 };
    tries.record({ setting: adam, curve: [2, 1, 0.5], results: { loss: 0.5 } });
    tries.record({ setting: momentum, curve: [2, 1e20, Infinity], results: { loss: Infinity } });
    tries.record({ setting: { ...adam }, curve: [3, 2, NaN], results: { loss: NaN } });
    const figure = tries.figure();
    const yaxis = figure.layout!.yaxis as { type: string; title: { text: string } };
    expect(yaxis.type).toBe("log");
    expect(yaxis.title.text).toBe("loss");
    expect(figure.data.map((t) => t.y)).toEqual([
      [3, 2, null],
      [2, null, null],
    ]);
    const rows = tries.rows();
    const columns = ["optimizer", "lr", "momentum", "beta1", "epochs", "loss"];
    expect(rows.map((r) => Object.keys(r))).toEqual([columns, columns]);
    const first = { optimizer: "adam", lr: 0.1, momentum: "", beta1: 0.9, epochs: 3, loss: NaN };
    expect(rows[0]).toEqual(first);
  });
});

describe("a try's run", () => {
  it("a sheet try from reset at the given rate repeats exactly", () => {
    const one = simulateSheet("adam", { epochs: 20, lr: 0.5 });
    const two = simulateSheet("adam", { epochs: 20, lr: 0.5 });
    expect(one.epochs).toEqual(two.epochs);
    expect(one.epochs).toHaveLength(20);
  });

  it("an optimizer try: the race's seeded model, same numbers again, no tensor left", async () => {
    const train = digitTensors(generateDigits({ count: 60, seed: 3 }));
    const valid = digitTensors(generateDigits({ count: 30, seed: 4 }));
    const data = { x: train.x, y: train.y, xValid: valid.x, yValid: valid.y };
    const run = async (setting: CheckedOptimizerTry) => {
      const contender = { name: "try", optimizer: () => makeTryOptimizer(setting) };
      const options = { epochs: setting.epochs, batchSize: 16, hidden: 8, seed: 7 };
      const [result] = await race([contender], data, options);
      return result;
    };
    const before = tf.memory().numTensors;
    const momentum = checkOptimizerTry({
      optimizer: "momentum",
      lr: 0.05,
      momentum: 0.9,
      epochs: 2,
    });
    const first = await run(momentum);
    const again = await run(momentum);
    const eve = await run(checkOptimizerTry({ optimizer: "eve", lr: 0.01, epochs: 2 }));
    expect(tf.memory().numTensors).toBe(before);
    expect(first.validLoss).toHaveLength(2);
    expect(again.validLoss).toEqual(first.validLoss);
    expect(again.validAccuracy).toEqual(first.validAccuracy);
    expect(eve.validLoss).not.toEqual(first.validLoss);
    tf.dispose([train.x, train.y, valid.x, valid.y]);
  });
});
