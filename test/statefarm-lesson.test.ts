import { describe, it, expect, beforeAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { readConfig } from "../lib/config";
import {
  generateStateFarm,
  ensureStateFarm,
  readStateFarm,
  makeSample,
} from "../lib/statefarm/index";
import { linearModel, convModel, featureHead } from "../lib/statefarm/models";
import { conv2dBiasActivation, conv2dMatmulGrad } from "../lib/statefarm/conv";
import {
  loadLabelledImages,
  compileClassifier,
  trainClassifier,
  evaluate,
  logLoss,
  confusionMatrix,
  accuracy,
  predictProbs,
} from "../lib/statefarm/train";
import { pseudoTargets, clipProbs, chooseClip, withPseudoLabels } from "../lib/statefarm/pseudo";
import { writeSubmission, checkSubmission, SubmissionError } from "../lib/statefarm/submission";
import { randomSplit, lessonSizes } from "../lib/statefarm/lesson";
import { stateFarmFeatures, stateFarmMobileNet } from "../lib/statefarm/features";
import { oneHot } from "../lib/vision/images";
import { seedTraining } from "../lib/engine/seeded";
import { MOBILENET_SOURCE } from "../lib/vision/pretrained";
import { fromSources } from "../lib/datasets/sources";

let root: string;
beforeAll(async () => {
  await initBackend("wasm");
  root = fs.mkdtempSync(path.join(os.tmpdir(), "sf-lesson-"));
});

describe("scoring helpers", () => {
  it("log loss, accuracy and the confusion matrix", () => {
    const probs = [
      [0.8, 0.2],
      [0.3, 0.7],
      [0.6, 0.4],
    ];
    expect(logLoss(probs, [0, 1, 1])).toBeCloseTo(
      -(Math.log(0.8) + Math.log(0.7) + Math.log(0.4)) / 3,
      10,
    );
    expect(accuracy(probs, [0, 1, 1])).toBeCloseTo(2 / 3);
    expect(confusionMatrix([0, 1, 1], [0, 1, 0], 2)).toEqual([
      [1, 0],
      [1, 1],
    ]);
  });
  it("clips to [(1-mx)/9, mx] and picks the clip with the lowest loss", () => {
    const p = [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]];
    expect(clipProbs(p, 0.91)[0][0]).toBeCloseTo(0.91);
    expect(clipProbs(p, 0.91)[0][1]).toBeCloseTo(0.01);
    const wrong = chooseClip(
      [
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
      ],
      [1, 1],
    );
    expect(wrong.best).toBeLessThan(1);
    expect(() => clipProbs(p, 0)).toThrow(/mx/);
  });
  it("soft and hard pseudo targets, appended after the training rows", () => {
    expect(pseudoTargets([[0.2, 0.6, 0.2]], "hard")).toEqual([[0, 1, 0]]);
    expect(pseudoTargets([[1, 3]], "soft")).toEqual([[0.25, 0.75]]);
    const u = withPseudoLabels(
      { x: tf.zeros([2, 3]), y: tf.oneHot([0, 1], 2).toFloat() as tf.Tensor2D },
      tf.ones([1, 3]),
      [[0.3, 0.7]],
      "soft",
    );
    expect(u.x.shape).toEqual([3, 3]);
    expect(Array.from(u.y.dataSync())).toEqual([
      1,
      0,
      0,
      1,
      expect.closeTo(0.3),
      expect.closeTo(0.7),
    ]);
  });
});

describe("conv2dMatmulGrad", () => {
  it("matches tf.conv2d's value and gradients", () => {
    const x = tf.randomNormal([2, 7, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D,
      w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
    const loss =
      (conv: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
        conv(a as tf.Tensor4D, b as tf.Tensor4D)
          .square()
          .sum();
    const ref = tf.grads(loss((a, b) => tf.conv2d(a, b, 1, "valid")))([x, w]);
    const ours = tf.grads(loss(conv2dMatmulGrad))([x, w]);
    expect(
      tf.conv2d(x, w, 1, "valid").sub(conv2dMatmulGrad(x, w)).abs().max().dataSync()[0],
    ).toBeLessThan(1e-4);
    for (let i = 0; i < 2; i++)
      expect(ref[i].sub(ours[i]).abs().max().dataSync()[0]).toBeLessThan(
        1e-3 * (1 + ref[i].abs().max().dataSync()[0]),
      );
  });
});

describe("conv2dBiasActivation", () => {
  // Every input's gradient against tfjs's unfused conv2d + bias + ReLU, with outputs on both
  // sides of zero (the ReLU's gradient) and 32 input channels (the padded-convolution route of
  // the input gradient; conv2dMatmulGrad's test covers the column route's 3).
  for (const [activation, c] of [
    ["relu", 3],
    ["relu", 32],
    ["linear", 32],
  ] as const)
    it(`matches conv2d + bias${activation === "relu" ? " + ReLU" : ""}, ${c} channels`, () => {
      const x = tf.randomNormal([2, 7, 6, c], 0, 1, "float32", 1) as tf.Tensor4D,
        w = tf.randomNormal([3, 3, c, 5], 0, 0.3, "float32", 2) as tf.Tensor4D,
        b = tf.randomNormal([5], 0, 1, "float32", 3) as tf.Tensor1D;
      const reference = (a: tf.Tensor4D, f: tf.Tensor4D, bias: tf.Tensor1D) => {
        const y = tf.conv2d(a, f, 1, "valid").add(bias);
        return activation === "relu" ? tf.relu(y) : y;
      };
      // A loss whose gradient differs per output element, so every position counts.
      const weights = tf.randomNormal([2, 5, 4, 5], 0, 1, "float32", 4);
      const loss = (op: typeof reference) => (a: tf.Tensor, f: tf.Tensor, bias: tf.Tensor) =>
        op(a as tf.Tensor4D, f as tf.Tensor4D, bias as tf.Tensor1D)
          .mul(weights)
          .sum();
      const ref = tf.grads(loss(reference))([x, w, b]);
      const fusedOp: typeof reference = (a, f, bias) =>
        conv2dBiasActivation(a, f, bias, activation);
      const ours = tf.grads(loss(fusedOp))([x, w, b]);
      const y = reference(x, w, b);
      const fused = fusedOp(x, w, b);
      if (activation === "relu") expect(y.equal(0).sum().dataSync()[0]).toBeGreaterThan(5);
      expect(y.sub(fused).abs().max().dataSync()[0]).toBeLessThan(1e-4);
      for (let i = 0; i < 3; i++)
        expect(ref[i].sub(ours[i]).abs().max().dataSync()[0]).toBeLessThan(
          1e-4 * (1 + ref[i].abs().max().dataSync()[0]),
        );
    });
});

describe("submission", () => {
  it("writes img,c0..c9 and checks the format", () => {
    const file = path.join(root, "sub", "s.csv");
    writeSubmission(
      file,
      ["/x/img_1.jpg", "/x/img_2.jpg"],
      [Array(10).fill(0.1), [0.91, ...Array(9).fill(0.01)]],
    );
    expect(checkSubmission(file, ["img_1.jpg", "img_2.jpg"]).rows).toBe(2);
    expect(() => checkSubmission(file, ["img_1.jpg", "img_3.jpg"])).toThrow(/no row/);
    fs.writeFileSync(file, "image,c0\nimg_1.jpg,2\n");
    expect(() => checkSubmission(file)).toThrow(SubmissionError);
    expect(() => checkSubmission(file)).toThrow(/header/);
  });
});

describe("the lesson's path on data", () => {
  it("runs a tiny folder in the Kaggle layout through ensureStateFarm, the reader, the sample and a model", async () => {
    const dataDir = path.join(root, "data");
    await generateStateFarm(path.join(dataDir, "statefarm"), {
      drivers: 3,
      imagesPerClass: 1,
      testImages: 2,
      width: 40,
      height: 30,
    });
    fs.rmSync(path.join(dataDir, "statefarm", "synthetic.json")); // now just a folder in the Kaggle layout
    const config = { ...readConfig({ LESSON4_MODE: "fast", LESSON4_DATA_DIR: dataDir }) };
    const source = await ensureStateFarm({ config, log: false });
    expect(source.kind).toBe("kaggle");
    const data = await readStateFarm(source.dir, { validDrivers: ["p002"] });
    const sample = makeSample(data, { train: 15, valid: 10 });
    expect(new Set(sample.valid.map((it) => it.driver))).toEqual(new Set(["p002"]));
    const trn = await loadLabelledImages(sample.train, { width: 16, height: 12 }),
      val = await loadLabelledImages(sample.valid, { width: 16, height: 12 });
    const m = compileClassifier(linearModel([12, 16, 3]), 1e-3);
    const h = await trainClassifier(m, trn, val, { epochs: 1, title: false });
    expect(h).toHaveLength(1);
    const e = await evaluate(m, val);
    expect(e.probs).toHaveLength(10);
    expect(Number.isFinite(e.loss)).toBe(true);
  }, 60_000);

  it("a random split scores far better than the driver split (the model memorises drivers)", async () => {
    const dir = path.join(root, "gen");
    await generateStateFarm(dir, { drivers: 6, imagesPerClass: 6, testImages: 0, seed: 7 });
    const data = await readStateFarm(dir, { validFraction: 0.3, seed: 7 });
    const size = { width: 32, height: 24 };
    const score = async (split: { train: typeof data.train; valid: typeof data.valid }) => {
      const trn = await loadLabelledImages(split.train, size),
        val = await loadLabelledImages(split.valid, size);
      const m = compileClassifier(linearModel([24, 32, 3]), 1e-5);
      await trainClassifier(m, trn, val, { epochs: 2, title: false });
      await trainClassifier(m, trn, val, { epochs: 15, learningRate: 1e-3, title: false });
      return (await evaluate(m, val)).accuracy;
    };
    const driver = await score(data),
      random = await score(randomSplit(data, 7));
    expect(random).toBeGreaterThan(driver + 0.2);
  }, 120_000);
});

/**
 * The lesson's shape on the fast generated set, with the notebooks' sizes and steps, at a fixed seed (training is
 * seeded: lib/engine/seeded.ts), using the cached data and features (generated/computed on the first run).
 * Asserted: the findings that held for every seed tried (see the margins below); the margins leave room for small
 * numeric differences between backends. Not asserted, because it did not hold for every seed: the small CNN beating
 * the linear model (fast mode, seed 1: CNN 0.156 vs linear 0.194 validation accuracy; seed 2: 0.100 vs 0.088; seeds 3 and 42: 0.100 vs 0.100, 0.106 vs 0.206); the notebook says at run time
 * whether it appeared.
 */
/** Random split minus driver split, validation accuracy (seen: 0.20, 0.29, 0.54, 0.23 at seeds 1, 2, 3, 42). */
const RANDOM_SPLIT_MARGIN = 0.1;
/** Feature head minus small CNN, validation accuracy (seen: 0.68, 0.74, 0.59, 0.71 at seeds 1, 2, 3, 42). */
const FEATURES_MARGIN = 0.3;
/**
 * Head seeds over which pseudo-labelling's effect is averaged. One head's log loss moves with its initial weights:
 * with the data of seeds 42 and 1 and head seeds 1-5, hard test pseudo-labels changed validation log loss by -0.19,
 * -0.13, -0.21, +0.09, -0.04 (seed 42) and -0.07, -0.12, +0.05, -0.13, -0.11 (seed 1); soft ones by -0.11, -0.10,
 * -0.10, +0.13, -0.04 and -0.07, -0.18, +0.07, -0.11, -0.07. Over head seeds 1-3 the mean change was below 0 for
 * both (hard -0.18 and -0.05, soft -0.10 and -0.06), so that is asserted: on average they do not hurt.
 */
const PSEUDO_HEAD_SEEDS = [1, 2, 3];
describe("the lesson's findings in fast mode (seed 42)", () => {
  const config = readConfig({ ...process.env, LESSON4_MODE: "fast", LESSON4_SEED: "42" });
  const localModel = [
    fromSources(MOBILENET_SOURCE, config),
    path.join(config.dataDir, "models", "mobilenet_v1_1.0_224"),
  ].find((d) => d && fs.existsSync(path.join(d, "model.json")));
  const sizes = lessonSizes(config);
  const shape: [number, number, number] = [sizes.height, sizes.width, 3];
  let data: Awaited<ReturnType<typeof readStateFarm>>;
  let sample: ReturnType<typeof makeSample>;
  const scores: Record<string, { loss: number; accuracy: number }> = {};

  beforeAll(async () => {
    seedTraining(config.seed);
    const source = await ensureStateFarm({ config, log: false });
    data = await readStateFarm(source.dir, { seed: config.seed });
    sample = makeSample(data, { ...sizes.sample, seed: config.seed });
  }, 300_000);

  const linear = async (split: { train: typeof data.train; valid: typeof data.valid }) => {
    const trn = await loadLabelledImages(split.train, sizes),
      val = await loadLabelledImages(split.valid, sizes);
    const m = compileClassifier(linearModel(shape), 1e-5);
    await trainClassifier(m, trn, val, { epochs: 2, title: false });
    await trainClassifier(m, trn, val, {
      epochs: sizes.linearEpochs,
      learningRate: 1e-3,
      title: false,
    });
    const e = await evaluate(m, val);
    m.dispose();
    tf.dispose([trn.x, trn.y, val.x, val.y]);
    return e;
  };

  it("the driver split scores lower than a random split", async () => {
    scores.linear = await linear(sample);
    scores.random = await linear(randomSplit(sample, config.seed));
    expect(scores.random.accuracy).toBeGreaterThan(scores.linear.accuracy + RANDOM_SPLIT_MARGIN);
  }, 300_000);

  it("the small CNN overfits the sample: training accuracy far above validation (hence augmentation)", async () => {
    const trn = await loadLabelledImages(sample.train, sizes),
      val = await loadLabelledImages(sample.valid, sizes);
    const cnn = compileClassifier(convModel(shape), 1e-3);
    const history = await trainClassifier(cnn, trn, val, {
      epochs: sizes.convEpochs,
      title: false,
    });
    scores.cnn = await evaluate(cnn, val);
    scores.cnnTrain = { loss: history.at(-1)!.loss, accuracy: history.at(-1)!.acc };
    cnn.dispose();
    tf.dispose([trn.x, trn.y, val.x, val.y]);
    // Seen: training 0.93, 0.97, 0.98, 0.98 vs validation 0.16, 0.10, 0.10, 0.11 at seeds 1, 2, 3, 42.
    expect(scores.cnnTrain.accuracy).toBeGreaterThan(scores.cnn.accuracy + 0.3);
  }, 600_000);

  it("pretrained features beat the small CNN, and test pseudo-labels, soft or hard, do not worsen validation log loss on average over head seeds", async (ctx) => {
    if (!localModel) ctx.skip(); // tests use no network: needs LESSON4_SOURCES_DIR with the model, or a copy in data/models
    expect(scores.cnn, "needs the CNN test's score").toBeDefined();
    const mobilenet = await stateFarmMobileNet(config);
    const features = async (files: string[], name: string) =>
      (await stateFarmFeatures(files, mobilenet, name)).features;
    const labels = (items: typeof data.train) => items.map((it) => it.label);
    const ftrn = {
      x: await features(
        data.train.map((it) => it.path),
        "train",
      ),
      y: oneHot(labels(data.train)),
      labels: labels(data.train),
    };
    const fval = {
      x: await features(
        data.valid.map((it) => it.path),
        "valid",
      ),
      y: oneHot(labels(data.valid)),
      labels: labels(data.valid),
    };
    const ftest = await features(data.test, "test");
    const head = async (set: { x: tf.Tensor; y: tf.Tensor2D }, seed: number) => {
      const m = compileClassifier(featureHead(ftrn.x.shape.slice(1), { p: 0.8, seed }), 1e-3);
      await trainClassifier(m, { ...set, labels: [] }, fval, {
        epochs: sizes.headEpochs,
        batchSize: 32,
        title: false,
        seed,
      });
      const e = await evaluate(m, fval);
      return { m, e };
    };
    const change: Record<"soft" | "hard", number[]> = { soft: [], hard: [] };
    let firstBase: Awaited<ReturnType<typeof evaluate>> | null = null;
    for (const seed of PSEUDO_HEAD_SEEDS) {
      const base = await head(ftrn, seed);
      if (!firstBase) {
        firstBase = base.e;
        expect(base.e.accuracy).toBeGreaterThan(scores.cnn.accuracy + FEATURES_MARGIN);
      }
      const p = predictProbs(base.m, ftest);
      const testProbs = (await p.array()) as number[][];
      p.dispose();
      base.m.dispose();
      for (const mode of ["soft", "hard"] as const) {
        const u = withPseudoLabels(ftrn, ftest, testProbs, mode);
        const pseudo = await head(u, seed);
        change[mode].push(pseudo.e.loss - base.e.loss);
        pseudo.m.dispose();
        tf.dispose([u.x, u.y]);
      }
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    console.info(
      `State Farm fast, seed ${config.seed}: ${JSON.stringify({ ...scores, features: firstBase, pseudoLabelLogLossChange: change }, (k, v) => (k === "probs" ? undefined : v))}`,
    );
    expect(mean(change.hard)).toBeLessThan(0);
    expect(mean(change.soft)).toBeLessThan(0);
    tf.dispose([ftrn.x, ftrn.y, fval.x, fval.y, ftest]);
  }, 600_000);
});
