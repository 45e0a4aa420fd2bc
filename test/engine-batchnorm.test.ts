import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import {
  BATCH_NORM_TRAIN_KERNEL,
  FastBatchNormalization,
  batchNormalization,
} from "../lib/engine/fused-batchnorm";

/** Largest |a - b| / max(1, |b|). */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++)
    w = Math.max(w, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return w;
}

/**
 * One training call of a layer on x with the given initial weights (gamma, beta, moving mean, moving variance) and a
 * loss that weighs every output differently: the output, the gradients for x, gamma and beta, and the moving mean and
 * variance after the call.
 */
function trainingCall(layer: tf.layers.Layer, x: tf.Tensor, weights: tf.Tensor): Float32Array[] {
  layer.build(x.shape);
  const c = x.shape[x.shape.length - 1];
  layer.setWeights([
    tf.randomUniform([c], 0.5, 1.5, "float32", 7),
    tf.randomNormal([c], 0, 0.3, "float32", 8),
    tf.randomNormal([c], 0, 1, "float32", 9),
    tf.randomUniform([c], 0.5, 2, "float32", 10),
  ]);
  const input = tf.variable(x);
  let out: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const y = layer.apply(input, { training: true }) as tf.Tensor;
    out = tf.keep(y.clone());
    return y.mul(weights).sum() as tf.Scalar;
  });
  const [gamma, beta] = layer.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  const values = [
    out!,
    grads[input.name],
    grads[gamma],
    grads[beta],
    ...layer.getWeights().slice(2),
  ].map((t) => Float32Array.from(t.dataSync()));
  tf.dispose([out!, value, input, ...Object.values(grads)]);
  return values;
}

describe("BatchNormalization's fused training pass (lib/engine/fused-batchnorm) matches tfjs-layers' own", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("is registered on wasm and saves as Keras' BatchNormalization", () => {
    expect(tf.getKernel(BATCH_NORM_TRAIN_KERNEL, "wasm")).toBeDefined();
    const layer = batchNormalization({ momentum: 0.9 });
    expect(layer).toBeInstanceOf(FastBatchNormalization);
    expect(layer.getClassName()).toBe("BatchNormalization");
    const model = tf.sequential({
      layers: [batchNormalization({ inputShape: [4], momentum: 0.9 })],
    });
    const config = JSON.parse(JSON.stringify(model.toJSON(null, false))) as {
      config: { layers: Array<{ class_name: string; config: { momentum: number } }> };
    };
    expect(config.config.layers[0].class_name).toBe("BatchNormalization");
    expect(config.config.layers[0].config.momentum).toBe(0.9);
  });

  // a conv block's activations (SIMD: channels a multiple of 4), pixels (3 channels: SIMD rows of 4 pixels), 6
  // channels (rows of 2 pixels), 5 channels in 21 rows (not a whole number of SIMD rows: JS loops), a Dense layer's
  // [batch, units]; values far from 0 (raw pixels) test the float64 sums' cancellation
  const cases: Array<[string, number[], number, number]> = [
    ["[16, 9, 7, 32]", [16, 9, 7, 32], 0.5, 2],
    ["pixels [8, 6, 5, 3]", [8, 6, 5, 3], 128, 60],
    ["[5, 4, 3, 6]", [5, 4, 3, 6], -3, 1],
    ["[7, 3, 5] (JS)", [7, 3, 5], 2, 1],
    ["dense [32, 200]", [32, 200], 1, 0.5],
  ];
  for (const [name, shape, mean, spread] of cases) {
    it(`${name}: output, gradients for x, gamma and beta, and the moving statistics`, () => {
      const x = tf.randomNormal(shape, mean, spread, "float32", 3);
      const weights = tf.randomNormal(shape, 0, 1, "float32", 4);
      // a call on other data first: nothing one call leaves behind may reach the next
      const before = tf.randomNormal(shape, -mean, spread * 3, "float32", 13);
      trainingCall(batchNormalization({ momentum: 0.9 }), before, weights);
      before.dispose();
      const fast = trainingCall(batchNormalization({ momentum: 0.9 }), x, weights);
      const reference = trainingCall(tf.layers.batchNormalization({ momentum: 0.9 }), x, weights);
      const labels = ["output", "dx", "dgamma", "dbeta", "moving mean", "moving variance"];
      fast.forEach((values, i) =>
        expect(worst(values, reference[i]), labels[i]).toBeLessThan(2e-4),
      );
      // the gradient is not trivially zero
      expect(Math.max(...fast[1].map(Math.abs))).toBeGreaterThan(1e-3);
      tf.dispose([x, weights]);
    });
  }

  it("falls back to tfjs's pass outside training and on another axis", () => {
    const x = tf.randomNormal([4, 5, 8], 2, 3, "float32", 5);
    const fast = batchNormalization({ axis: 1 });
    const reference = tf.layers.batchNormalization({ axis: 1 });
    for (const layer of [fast, reference]) layer.build(x.shape);
    fast.setWeights(reference.getWeights());
    for (const training of [true, false]) {
      const a = (fast.apply(x, { training }) as tf.Tensor).dataSync(),
        b = (reference.apply(x, { training }) as tf.Tensor).dataSync();
      expect(Array.from(a)).toEqual(Array.from(b));
    }
  });
});
