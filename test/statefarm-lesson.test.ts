import { describe, it, expect, beforeAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { readConfig } from "../lib/config";
import { generateStateFarm, ensureStateFarm, readStateFarm, makeSample } from "../lib/statefarm/index";
import { linearModel, convModel, featureHead } from "../lib/statefarm/models";
import { conv2dMatmulGrad } from "../lib/statefarm/conv";
import { loadLabelledImages, compileClassifier, trainClassifier, evaluate, logLoss, confusionMatrix, accuracy, predictProbs } from "../lib/statefarm/train";
import { pseudoTargets, clipProbs, chooseClip, withPseudoLabels } from "../lib/statefarm/pseudo";
import { writeSubmission, checkSubmission, SubmissionError } from "../lib/statefarm/submission";
import { randomSplit, lessonSizes } from "../lib/statefarm/lesson";
import { stateFarmFeatures, stateFarmMobileNet } from "../lib/statefarm/features";
import { oneHot } from "../lib/vision/images";
import { MOBILENET_SOURCE } from "../lib/vision/pretrained";
import { fromSources } from "../lib/datasets/sources";

let root: string;
beforeAll(async () => {
  await initBackend("wasm");
  root = fs.mkdtempSync(path.join(os.tmpdir(), "sf-lesson-"));
});

describe("scoring helpers", () => {
  it("log loss, accuracy and the confusion matrix", () => {
    const probs = [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]];
    expect(logLoss(probs, [0, 1, 1])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7) + Math.log(0.4)) / 3, 10);
    expect(accuracy(probs, [0, 1, 1])).toBeCloseTo(2 / 3);
    expect(confusionMatrix([0, 1, 1], [0, 1, 0], 2)).toEqual([[1, 0], [1, 1]]);
  });
  it("clips to [(1-mx)/9, mx] and picks the clip with the lowest loss", () => {
    const p = [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]];
    expect(clipProbs(p, 0.91)[0][0]).toBeCloseTo(0.91);
    expect(clipProbs(p, 0.91)[0][1]).toBeCloseTo(0.01);
    const wrong = chooseClip([[1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]], [1, 1]);
    expect(wrong.best).toBeLessThan(1);
    expect(() => clipProbs(p, 0)).toThrow(/mx/);
  });
  it("soft and hard pseudo targets, appended after the training rows", () => {
    expect(pseudoTargets([[0.2, 0.6, 0.2]], "hard")).toEqual([[0, 1, 0]]);
    expect(pseudoTargets([[1, 3]], "soft")).toEqual([[0.25, 0.75]]);
    const u = withPseudoLabels({ x: tf.zeros([2, 3]), y: tf.oneHot([0, 1], 2).toFloat() as tf.Tensor2D }, tf.ones([1, 3]), [[0.3, 0.7]], "soft");
    expect(u.x.shape).toEqual([3, 3]);
    expect(Array.from(u.y.dataSync())).toEqual([1, 0, 0, 1, expect.closeTo(0.3), expect.closeTo(0.7)]);
  });
});

describe("conv2dMatmulGrad", () => {
  it("matches tf.conv2d's value and gradients", () => {
    const x = tf.randomNormal([2, 7, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D, w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
    const loss = (conv: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D).square().sum();
    const ref = tf.grads(loss((a, b) => tf.conv2d(a, b, 1, "valid")))([x, w]);
    const ours = tf.grads(loss(conv2dMatmulGrad))([x, w]);
    expect(tf.conv2d(x, w, 1, "valid").sub(conv2dMatmulGrad(x, w)).abs().max().dataSync()[0]).toBeLessThan(1e-4);
    for (let i = 0; i < 2; i++) expect(ref[i].sub(ours[i]).abs().max().dataSync()[0]).toBeLessThan(1e-3 * (1 + ref[i].abs().max().dataSync()[0]));
  });
});

describe("submission", () => {
  it("writes img,c0..c9 and checks the format", () => {
    const file = path.join(root, "sub", "s.csv");
    writeSubmission(file, ["/x/img_1.jpg", "/x/img_2.jpg"], [Array(10).fill(0.1), [0.91, ...Array(9).fill(0.01)]]);
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
    await generateStateFarm(path.join(dataDir, "statefarm"), { drivers: 3, imagesPerClass: 1, testImages: 2, width: 40, height: 30 });
    fs.rmSync(path.join(dataDir, "statefarm", "synthetic.json")); // now just a folder in the Kaggle layout
    const config = { ...readConfig({ LESSON4_MODE: "fast", LESSON4_DATA_DIR: dataDir }) };
    const source = await ensureStateFarm({ config, log: false });
    expect(source.kind).toBe("kaggle");
    const data = await readStateFarm(source.dir, { validDrivers: ["p002"] });
    const sample = makeSample(data, { train: 15, valid: 10 });
    expect(new Set(sample.valid.map((it) => it.driver))).toEqual(new Set(["p002"]));
    const trn = await loadLabelledImages(sample.train, { width: 16, height: 12 }), val = await loadLabelledImages(sample.valid, { width: 16, height: 12 });
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
      const trn = await loadLabelledImages(split.train, size), val = await loadLabelledImages(split.valid, size);
      const m = compileClassifier(linearModel([24, 32, 3]), 1e-5);
      await trainClassifier(m, trn, val, { epochs: 2, title: false });
      await trainClassifier(m, trn, val, { epochs: 15, learningRate: 1e-3, title: false });
      return (await evaluate(m, val)).accuracy;
    };
    const driver = await score(data), random = await score(randomSplit(data, 7));
    expect(random).toBeGreaterThan(driver + 0.2);
  }, 120_000);
});

/**
 * The lesson's shape on the fast generated set, with the notebooks' sizes and the cached data and features
 * (generated/computed on the first run). Training is not seeded in tfjs-layers (weight init, shuffling,
 * dropout), so only comparisons that held with a wide margin over repeated runs are asserted.
 */
describe("the lesson's findings in fast mode", () => {
  it("pretrained features beat the small CNN", async (ctx) => {
    // Measured over 3 runs before asserting (accuracy): CNN 0.19-0.28 vs the feature head 0.74-0.84. Not asserted,
    // because training is not seeded and they flip between runs: CNN vs linear (the CNN lost in 1 of 3 runs),
    // pseudo-labelled validation photos (worse in 1 of 3), and soft test pseudo-labels (helped in 3 runs, then
    // validation log loss 0.642 vs 0.632 without them in a CI run).
    const config = readConfig({ ...process.env, LESSON4_MODE: "fast" });
    const localModel = [fromSources(MOBILENET_SOURCE, config), path.join(config.dataDir, "models", "mobilenet_v1_1.0_224")].find((d) => d && fs.existsSync(path.join(d, "model.json")));
    if (!localModel) ctx.skip(); // tests use no network: needs LESSON4_SOURCES_DIR with the model, or a copy in data/models
    const sizes = lessonSizes(config);
    const source = await ensureStateFarm({ config, log: false });
    const data = await readStateFarm(source.dir, { seed: config.seed });
    const sample = makeSample(data, { ...sizes.sample, seed: config.seed });
    const shape: [number, number, number] = [sizes.height, sizes.width, 3];
    const trn = await loadLabelledImages(sample.train, sizes), val = await loadLabelledImages(sample.valid, sizes);
    const cnn = compileClassifier(convModel(shape), 1e-3);
    await trainClassifier(cnn, trn, val, { epochs: sizes.convEpochs, title: false });
    const cnnEval = await evaluate(cnn, val);
    cnn.dispose();
    tf.dispose([trn.x, trn.y, val.x, val.y]);

    const mobilenet = await stateFarmMobileNet(config);
    const features = async (files: string[], name: string) => (await stateFarmFeatures(files, mobilenet, name)).features;
    const labels = (items: typeof data.train) => items.map((it) => it.label);
    const ftrn = { x: await features(data.train.map((it) => it.path), "train"), y: oneHot(labels(data.train)), labels: labels(data.train) };
    const fval = { x: await features(data.valid.map((it) => it.path), "valid"), y: oneHot(labels(data.valid)), labels: labels(data.valid) };
    const ftest = await features(data.test, "test");
    // Two heads per variant, scores averaged: a single head's log loss varies by ~0.05-0.1 from run to run.
    const heads = async (set: { x: tf.Tensor; y: tf.Tensor2D }) => {
      const out: Array<{ loss: number; accuracy: number; testProbs: number[][] }> = [];
      for (let r = 0; r < 2; r++) {
        const m = compileClassifier(featureHead(ftrn.x.shape.slice(1), { p: 0.8 }), 1e-3);
        await trainClassifier(m, { ...set, labels: [] }, fval, { epochs: sizes.headEpochs, batchSize: 32, title: false });
        const e = await evaluate(m, fval);
        const p = predictProbs(m, ftest);
        out.push({ loss: e.loss, accuracy: e.accuracy, testProbs: (await p.array()) as number[][] });
        p.dispose();
        m.dispose();
      }
      return { loss: (out[0].loss + out[1].loss) / 2, accuracy: (out[0].accuracy + out[1].accuracy) / 2, testProbs: out[0].testProbs };
    };
    const base = await heads(ftrn);
    expect(base.accuracy).toBeGreaterThan(cnnEval.accuracy + 0.15);

    tf.dispose([ftrn.x, ftrn.y, fval.x, fval.y, ftest]);
  }, 300_000);
});
