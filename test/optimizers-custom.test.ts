/**
 * The lib's tf.Optimizers (Eve, AdamAnnealing) and the LearningRateAnnealer callback: step by step
 * against the from-scratch rules, the adam_ann sheet reproduced, training with model.fit, and a
 * save/load round trip that keeps the optimizer's class, config and state.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { Rng } from "../lib/vision/random";
import {
  AdamAnnealing,
  Eve,
  GRADDESC_XY,
  LearningRateAnnealer,
  adamStep,
  annealingCheck,
  eveFeedback,
  getLearningRate,
  savedState,
  simulateSheet,
  workbookAdamStep,
} from "../lib/optimizers/index";

beforeAll(async () => {
  await initBackend("wasm");
});

const relDiff = (got: number, want: number) =>
  Math.abs(got - want) / Math.max(Math.abs(want), 1e-3);

/** Adam's from-scratch step for either form, with Eve's divisor d. */
function adamRule(
  bias: boolean,
  p: number,
  g: number,
  m: number,
  v: number,
  t: number,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  d: number,
) {
  if (bias) {
    const r = adamStep(p, g, m, v, t, lr, b1, b2, eps, d);
    return { p: r.p, m: r.m, v: r.v };
  }
  const r = workbookAdamStep(p, g, m, v, lr, b1, b2, d, eps);
  return { p: r.p, m: r.m, v: r.s };
}

interface RunOptions {
  steps: number;
  bias: boolean;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * Fits y = a x + b one workbook row per step (x, y scaled by 1/100) with a tf optimizer and with
 * the rules in float64, calling `hooks` for the optimizer-specific parts; returns the worst
 * relative difference of a and b.
 */
function stepByStep(
  optimizer: tf.Optimizer,
  o: RunOptions,
  hooks: {
    beforeStep?: (loss: number) => number;
    afterStep?: (t: number, v: number[]) => void;
    getLr?: () => number;
  },
): number {
  const a = tf.variable(tf.scalar(1));
  const b = tf.variable(tf.scalar(1));
  const p = [1, 1];
  const m = [0, 0];
  const v = [0, 0];
  let worst = 0;
  for (let t = 1; t <= o.steps; t++) {
    const i = (t - 1) % GRADDESC_XY.x.length;
    const x = GRADDESC_XY.x[i] / 100;
    const y = GRADDESC_XY.y[i] / 100;
    optimizer.minimize(() => a.mul(x).add(b).sub(y).square() as tf.Scalar, false, [a, b]);
    const err = p[0] * x + p[1] - y;
    const d = hooks.beforeStep ? hooks.beforeStep(err * err) : 1;
    const grads = [2 * err * x, 2 * err];
    const lr = hooks.getLr ? hooks.getLr() : o.lr;
    for (let k = 0; k < 2; k++) {
      const r = adamRule(o.bias, p[k], grads[k], m[k], v[k], t, lr, o.beta1, o.beta2, o.eps, d);
      [p[k], m[k], v[k]] = [r.p, r.m, r.v];
    }
    hooks.afterStep?.(t, v);
    worst = Math.max(worst, relDiff(a.dataSync()[0], p[0]), relDiff(b.dataSync()[0], p[1]));
  }
  tf.dispose([a, b]);
  optimizer.dispose();
  return worst;
}

describe("Eve matches the from-scratch rules step by step (40 steps, 1e-6 relative)", () => {
  for (const bias of [true, false]) {
    it(
      bias
        ? "with bias correction (tfjs's Adam form)"
        : "without bias correction (the workbook's form)",
      () => {
        const o = { steps: 40, bias, lr: 0.01, beta1: 0.7, beta2: 0.9, eps: 1e-7 };
        const optimizer = new Eve({
          learningRate: o.lr,
          beta1: o.beta1,
          beta2: o.beta2,
          beta3: 0.9,
          epsilon: o.eps,
          biasCorrection: bias,
        });
        let d = 1;
        let last = NaN;
        const ds: number[] = [];
        const worst = stepByStep(optimizer, o, {
          beforeStep: (loss) => {
            if (Number.isFinite(last) && Math.min(loss, last) > 0)
              d = eveFeedback(loss, last, d, 0.9).d;
            last = loss;
            ds.push(d);
            return d;
          },
        });
        expect(worst).toBeLessThan(1e-6);
        // the feedback really acted: d moved well away from 1
        expect(Math.max(...ds.map((x) => Math.abs(x - 1)))).toBeGreaterThan(0.1);
      },
    );
  }
  it("a wrong beta3 in the reference is caught (the comparison can fail)", () => {
    const o = { steps: 40, bias: true, lr: 0.01, beta1: 0.7, beta2: 0.9, eps: 1e-7 };
    let d = 1;
    let last = NaN;
    const worst = stepByStep(
      new Eve({ learningRate: 0.01, beta1: 0.7, beta2: 0.9, beta3: 0.9 }),
      o,
      {
        beforeStep: (loss) => {
          if (Number.isFinite(last)) d = eveFeedback(loss, last, d, 0.5).d;
          last = loss;
          return d;
        },
      },
    );
    expect(worst).toBeGreaterThan(1e-6);
  });
});

describe("AdamAnnealing matches the from-scratch rules step by step", () => {
  it("40 steps with a check every step, at least one cut, 1e-6 relative", () => {
    const o = { steps: 40, bias: true, lr: 0.5, beta1: 0.9, beta2: 0.95, eps: 1e-7 };
    const optimizer = new AdamAnnealing({
      learningRate: o.lr,
      beta1: o.beta1,
      beta2: o.beta2,
      epsilon: o.eps,
    });
    let lr = o.lr;
    let prev = NaN;
    let cuts = 0;
    const worst = stepByStep(optimizer, o, {
      getLr: () => lr,
      afterStep: (t, v) => {
        const avg = Math.sqrt(v[0] / (1 - o.beta2 ** t)) + Math.sqrt(v[1] / (1 - o.beta2 ** t));
        if (Number.isNaN(prev)) {
          prev = avg;
          return;
        }
        const c = annealingCheck(avg, prev, lr);
        prev = c.prevGrad2;
        lr = c.lr;
        if (c.cut) cuts++;
        expect(getLearningRate(optimizer)).toBeCloseTo(lr, 12);
      },
    });
    expect(cuts).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-6);
  });

  it("reproduces the adam_ann sheet (float32, 1e-4): 5 epochs of 29 rows from the saved state, lr checked per epoch", async () => {
    const saved = savedState("adam_ann");
    const want = simulateSheet("adam_ann", { epochs: 5, start: "saved" });
    const optimizer = new AdamAnnealing({
      learningRate: saved.lr,
      beta1: 0.9,
      beta2: 0.95,
      epsilon: 0,
      biasCorrection: false,
      checkEvery: 29,
    });
    const b = tf.variable(tf.scalar(saved.b));
    const a = tf.variable(tf.scalar(saved.a));
    await optimizer.setWeights([
      { name: "iter", tensor: tf.scalar(0, "int32") },
      { name: "b/m", tensor: tf.scalar(saved.m![0]) },
      { name: "a/m", tensor: tf.scalar(saved.m![1]) },
      { name: "b/v", tensor: tf.scalar(saved.s![0]) },
      { name: "a/v", tensor: tf.scalar(saved.s![1]) },
      { name: "AdamAnnealing/state", tensor: tf.tensor1d([saved.prevGrad2!]) },
    ]);
    const got: Array<{ a: number; b: number; lr: number }> = [];
    for (let epoch = 0; epoch < 5; epoch++) {
      // the sheet copies row 32's *inputs* back: the last row's update is computed but not kept
      let startB = 0;
      let startA = 0;
      for (let i = 0; i < GRADDESC_XY.x.length; i++) {
        const [x, y] = [GRADDESC_XY.x[i], GRADDESC_XY.y[i]];
        if (i === GRADDESC_XY.x.length - 1) [startB, startA] = [b.dataSync()[0], a.dataSync()[0]];
        optimizer.minimize(() => a.mul(x).add(b).sub(y).square() as tf.Scalar, false, [b, a]);
      }
      b.assign(tf.scalar(startB));
      a.assign(tf.scalar(startA));
      got.push({ a: startA, b: startB, lr: optimizer.learningRate });
    }
    for (let e = 0; e < 5; e++) {
      expect(relDiff(got[e].a, want.epochs[e].a)).toBeLessThan(1e-4);
      expect(relDiff(got[e].b, want.epochs[e].b)).toBeLessThan(1e-4);
      expect(got[e].lr).toBe(want.epochs[e].lr);
    }
    // the sheet cuts the rate during these five epochs, so the check was exercised
    expect(new Set(want.epochs.map((e) => e.lr)).size).toBeGreaterThan(1);
    tf.dispose([a, b]);
    optimizer.dispose();
  });
});

/** A small generated classification task: 3 Gaussian blobs in 6 dimensions. */
function blobs(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rng = new Rng(seed);
  const centers = [0, 1, 2].map(() => Array.from({ length: 6 }, () => rng.uniform(-2, 2)));
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    xs.push(centers[c].map((v) => v + rng.normal()));
    ys.push(c);
  }
  return { x: tf.tensor2d(xs), y: tf.oneHot(tf.tensor1d(ys, "int32"), 3).toFloat() as tf.Tensor2D };
}

function smallModel(optimizer: tf.Optimizer): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [6],
      units: 8,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 3,
      activation: "softmax",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    }),
  );
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  return model;
}

async function saveAndLoad(
  model: tf.LayersModel,
): Promise<{ loaded: tf.LayersModel; artifacts: tf.io.ModelArtifacts }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
    { includeOptimizer: true },
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  return { loaded, artifacts: artifacts! };
}

async function weightsOf(model: tf.LayersModel): Promise<number[]> {
  return model.getWeights().flatMap((w) => Array.from(w.dataSync()));
}

const makers: Array<[string, () => Eve | AdamAnnealing]> = [
  ["Eve", () => new Eve({ learningRate: 0.01 })],
  ["AdamAnnealing", () => new AdamAnnealing({ learningRate: 0.01 })],
];

describe("training with model.fit and a save/load round trip", () => {
  for (const [name, make] of makers) {
    it(`${name}: the loss drops; the loaded model keeps the optimizer's class, config and state`, async () => {
      const { x, y } = blobs(240, 3);
      const optimizer = make();
      const model = smallModel(optimizer);
      const history = await model.fit(x, y, {
        epochs: 8,
        batchSize: 32,
        shuffle: false,
        verbose: 0,
      });
      const losses = history.history.loss as number[];
      expect(losses[losses.length - 1]).toBeLessThan(0.6 * losses[0]);

      const { loaded, artifacts } = await saveAndLoad(model);
      const optimizerConfig = artifacts.trainingConfig!.optimizer_config as { class_name: string };
      expect(optimizerConfig.class_name).toBe(name);
      expect(
        artifacts.weightSpecs!.some((s) => s.group === "optimizer" && s.name === `${name}/state`),
      ).toBe(true);
      const restored = loaded.optimizer as Eve | AdamAnnealing;
      expect(restored).toBeInstanceOf(name === "Eve" ? Eve : AdamAnnealing);
      expect(restored.getConfig()).toEqual(optimizer.getConfig());
      expect(restored.iterations).toBe(optimizer.iterations);
      const [orig, back] = [await optimizer.getWeights(), await restored.getWeights()];
      expect(back.map((w) => w.tensor.shape)).toEqual(orig.map((w) => w.tensor.shape));
      for (let i = 0; i < orig.length; i++) {
        const [u, v] = [orig[i].tensor.dataSync(), back[i].tensor.dataSync()];
        for (let j = 0; j < u.length; j++)
          expect(
            Number.isNaN(u[j])
              ? Number.isNaN(v[j])
              : Math.abs(u[j] - v[j]) <= 1e-6 * Math.max(1, Math.abs(u[j])),
          ).toBe(true);
      }

      // both continue identically: one more epoch on each gives the same weights
      await model.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
      await loaded.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
      const [w1, w2] = [await weightsOf(model), await weightsOf(loaded)];
      expect(Math.max(...w1.map((w, i) => Math.abs(w - w2[i])))).toBeLessThan(1e-5);
      tf.dispose([x, y]);
      model.dispose();
      loaded.dispose();
    });
  }

  it("setWeights names what it expected when given another optimizer's weights", async () => {
    const adam = tf.train.adam(0.01);
    const eve = new Eve();
    const v = tf.variable(tf.scalar(1));
    adam.minimize(() => v.square() as tf.Scalar, false, [v]);
    await expect(eve.setWeights(await adam.getWeights())).rejects.toThrow(/Eve\/state/);
    v.dispose();
  });
});

describe("bad options say what is wrong", () => {
  it("Eve and AdamAnnealing", () => {
    expect(() => new Eve({ learningRate: -1 })).toThrow(/learningRate = -1 is not valid/);
    expect(() => new Eve({ beta3: 1 })).toThrow(
      /beta3 = 1 is not valid: it must be a number in \[0, 1\)/,
    );
    expect(() => new AdamAnnealing({ factor: 1 })).toThrow(/factor/);
    expect(() => new AdamAnnealing({ checkEvery: 2.5 })).toThrow(/whole number/);
    expect(() => new Eve().observeLoss(NaN)).toThrow(/finite loss/);
  });
  it("LearningRateAnnealer", () => {
    expect(() => new LearningRateAnnealer({ factor: 4 })).toThrow(/between 0 and 1/);
    expect(() => new LearningRateAnnealer({ patience: -1 })).toThrow(/patience/);
  });
});

describe("LearningRateAnnealer in model.fit", () => {
  it("cuts the learning rate by its factor after each epoch without improvement (SGD, Adam, AdamAnnealing)", async () => {
    const { x, y } = blobs(90, 4);
    for (const optimizer of [
      tf.train.sgd(0.1),
      tf.train.adam(0.01),
      new AdamAnnealing({ learningRate: 0.01, threshold: 1e9 }),
    ]) {
      // minDelta so large that no epoch after the first counts as an improvement
      const annealer = new LearningRateAnnealer({ factor: 0.5, patience: 1, minDelta: 1e9 });
      const model = smallModel(optimizer);
      const lr0 = getLearningRate(optimizer);
      await model.fit(x, y, { epochs: 4, batchSize: 30, verbose: 0, callbacks: [annealer] });
      expect(annealer.history.map((h) => h.cut)).toEqual([false, true, true, true]);
      expect(getLearningRate(optimizer)).toBeCloseTo(lr0 / 8, 12);
      model.dispose();
    }
    tf.dispose([x, y]);
  });

  it("leaves the learning rate alone while the loss improves", async () => {
    const { x, y } = blobs(90, 5);
    const annealer = new LearningRateAnnealer({ factor: 0.5, patience: 1 });
    const model = smallModel(tf.train.adam(0.01));
    await model.fit(x, y, { epochs: 4, batchSize: 30, verbose: 0, callbacks: [annealer] });
    const values = annealer.history.map((h) => h.value);
    expect(values.every((v, i) => i === 0 || v < values[i - 1])).toBe(true);
    expect(annealer.history.every((h) => !h.cut && h.learningRate === 0.01)).toBe(true);
    model.dispose();
    tf.dispose([x, y]);
  });

  it("names the logged values when the monitored one is missing", async () => {
    const { x, y } = blobs(30, 6);
    const model = smallModel(tf.train.adam(0.01));
    await expect(
      model.fit(x, y, {
        epochs: 1,
        verbose: 0,
        callbacks: [new LearningRateAnnealer({ monitor: "val_loss" })],
      }),
    ).rejects.toThrow(/"val_loss".*logged values: loss/);
    model.dispose();
    tf.dispose([x, y]);
  });
});
