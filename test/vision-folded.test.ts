/** lib/vision/folded: batch norm and ReLU6 folded into the convolutions give model.predict's values with fewer kernels. */
import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import { readConfig } from "../lib/config";
import { foldedInference } from "../lib/vision/folded";
import { extractFeatures, loadMobileNet } from "../lib/vision/pretrained";

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(),
    y = b.dataSync();
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/** Conv (no bias) + BN + relu6, depthwise (bias, multiplier 2) + BN without gamma + ReLU(6), 1x1 conv + relu, conv + BN: MobileNet's blocks and their variants. */
function chainModel(): tf.LayersModel {
  const seed = (s: number) => tf.initializers.randomNormal({ mean: 0, stddev: 0.5, seed: s });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 3],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        useBias: false,
        kernelInitializer: seed(1),
      }),
      tf.layers.batchNormalization({ epsilon: 1e-3 }),
      tf.layers.activation({ activation: "relu6" }),
      tf.layers.depthwiseConv2d({
        kernelSize: 3,
        depthMultiplier: 2,
        padding: "valid",
        useBias: true,
        depthwiseInitializer: seed(2),
        biasInitializer: seed(3),
      }),
      tf.layers.batchNormalization({ scale: false }),
      tf.layers.reLU({ maxValue: 6 }),
      tf.layers.conv2d({
        filters: 5,
        kernelSize: 1,
        activation: "relu",
        kernelInitializer: seed(4),
        biasInitializer: seed(5),
      }),
      tf.layers.conv2d({ filters: 3, kernelSize: 2, kernelInitializer: seed(6) }),
      tf.layers.batchNormalization({}),
    ],
  });
  // Moving statistics and affine parameters away from their identity defaults, so the folding has work to do.
  for (const layer of model.layers.filter((l) => l.getClassName() === "BatchNormalization")) {
    layer.setWeights(
      layer.getWeights().map((w, i, all) => {
        const isVariance = i === all.length - 1;
        return tf.tidy(() =>
          isVariance
            ? tf.randomUniform(w.shape, 0.5, 2, "float32", 10 + i)
            : tf.randomNormal(w.shape, 0.3, 0.5, "float32", 20 + i),
        );
      }),
    );
  }
  return model;
}

async function kernelsOf(f: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => f());
  (info.result as tf.Tensor).dispose();
  return info.kernels.map((k) => k.name);
}

describe("folded inference", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("a conv / batch norm / ReLU6 chain: model.predict's values as four fused convolutions, no batch norm kernel, weights freed on dispose", async () => {
    const model = chainModel();
    const x = tf.randomUniform([2, 12, 12, 3], -1, 1, "float32", 7) as tf.Tensor4D;
    const folded = foldedInference(model)!;
    expect(folded.describe).toBe("9 layers as 4 fused convolutions");
    const reference = model.predict(x) as tf.Tensor;
    const fast = folded.run(x);
    expect(maxDiff(fast, reference)).toBeLessThanOrEqual(
      1e-5 * Math.max(1, tf.max(tf.abs(reference)).dataSync()[0]),
    );
    expect(tf.max(reference).dataSync()[0]).toBeGreaterThan(0.1); // not all clipped to zero
    expect(await kernelsOf(() => model.predict(x) as tf.Tensor)).toContain("FusedBatchNorm");
    const kernels = await kernelsOf(() => folded.run(x));
    expect(kernels).not.toContain("FusedBatchNorm");
    expect(kernels.filter((k) => k.startsWith("Fused"))).toHaveLength(4);
    tf.dispose([reference, fast]);
    folded.dispose();
    const before = tf.memory().numTensors;
    foldedInference(model)!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it("declines models it cannot fold (a pooling layer, a branch)", () => {
    const pooled = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
      ],
    });
    expect(foldedInference(pooled)).toBeNull();
    const input = tf.input({ shape: [8, 8, 1] });
    const a = tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    expect(
      foldedInference(
        tf.model({ inputs: input, outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor }),
      ),
    ).toBeNull();
  });

  it("extractFeatures folds only a frozen model: a trainable one runs model.predict itself", async () => {
    const model = chainModel();
    const x = tf.randomUniform([1, 12, 12, 3], -1, 1, "float32", 8) as tf.Tensor4D;
    expect(await kernelsOf(() => extractFeatures({ model }, x))).toContain("FusedBatchNorm");
    const reference = model.predict(x) as tf.Tensor;
    expect(maxDiff(extractFeatures({ model }, x), reference)).toBe(0);
    model.trainable = false;
    // folded on first use inside a tidy (as precomputeFeatures calls it): the folded weights outlive it
    for (let i = 0; i < 2; i++)
      expect(
        maxDiff(
          tf.tidy(() => extractFeatures({ model }, x)),
          reference,
        ),
      ).toBeLessThanOrEqual(1e-5);
    expect(await kernelsOf(() => extractFeatures({ model }, x))).not.toContain("FusedBatchNorm");
  });

  const sources = readConfig().sourcesDir;
  const mobilenetDir = sources ? path.join(sources, "models", "mobilenet_v1_1.0_224_dw13") : "";
  it.skipIf(!mobilenetDir || !fs.existsSync(mobilenetDir))(
    "the real MobileNet (to conv_dw_13): 79 layers as 26 convolutions, features within 1e-4 of model.predict",
    async () => {
      const mobilenet = await loadMobileNet({ inputSize: 128 });
      expect(mobilenet.model.trainable).toBe(false);
      const folded = foldedInference(mobilenet.model)!;
      expect(folded.describe).toBe("79 layers as 26 fused convolutions");
      const x = tf.randomUniform([2, 128, 128, 3], -1, 1, "float32", 9) as tf.Tensor4D;
      const reference = mobilenet.model.predict(x) as tf.Tensor;
      expect(maxDiff(folded.run(x), reference)).toBeLessThanOrEqual(1e-4);
      expect(tf.max(reference).dataSync()[0]).toBeGreaterThan(1);
      folded.dispose();
    },
  );
});
