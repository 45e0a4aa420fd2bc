import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { compareStacks, kerasClass } from "../lib/statefarm/stacks";
import { linearModel, convModel, featureHead } from "../lib/statefarm/models";

const shape: [number, number, number] = [24, 32, 3];
const bn = (args: { inputShape?: number[] } = {}) =>
  tf.layers.batchNormalization({ ...args, axis: -1, momentum: 0.9 });

function convWritten(dense = 200): tf.Sequential {
  return tf.sequential({
    layers: [
      bn({ inputShape: shape }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
      bn(),
      tf.layers.maxPooling2d({ poolSize: 3 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
      bn(),
      tf.layers.maxPooling2d({ poolSize: 3 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: dense, activation: "relu" }),
      bn(),
      tf.layers.dense({ units: 10, activation: "softmax" }),
    ],
  });
}

describe("compareStacks: a stack written with tf.layers against lib's (lib/statefarm/stacks)", () => {
  it("lib's layers count as the Keras layers they stand for", () => {
    const cnn = convModel(shape, { seed: 1, dropout: 0.5 });
    expect(cnn.layers.map(kerasClass)).toContain("Conv2D");
    expect(cnn.layers.map(kerasClass)).toContain("Dropout");
    expect(kerasClass(cnn.layers[0])).toBe("BatchNormalization");
    cnn.dispose();
  });

  it("the linear model and the CNN written with tf.layers are lib's", () => {
    const written = tf.sequential({
      layers: [
        bn({ inputShape: shape }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: "softmax" }),
      ],
    });
    const lib = linearModel(shape, { seed: 1 });
    const linear = compareStacks(written, lib);
    expect(linear.same, linear.difference).toBe(true);
    expect(linear.rows.map((r) => r.params)).toEqual([12, 0, 24 * 32 * 3 * 10 + 10]);
    const cnn = compareStacks(convWritten(), convModel(shape, { seed: 1 }));
    expect(cnn.same, cnn.difference).toBe(true);
    expect(cnn.rows.every((r) => r.same === "yes")).toBe(true);
    expect(cnn.rows[1].lib).toBe("Conv2D (MatmulConv2D)");
  });

  it("names the first difference: a setting, a missing layer, a dropout rate", () => {
    const units = compareStacks(convWritten(100), convModel(shape, { seed: 1 }));
    expect(units.same).toBe(false);
    expect(units.difference).toMatch(/^layer 9: .*units 100 vs 200/);
    const short = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 8] }), bn()] });
    const head = featureHead([2, 2, 8], { seed: 1, p: 0.8 });
    const missing = compareStacks(short, head);
    expect(missing.difference).toBe("layer 3: missing in the written stack");
    expect(missing.rows).toHaveLength(head.layers.length);
    const dropout = tf.layers.dropout({ rate: 0.5 });
    const rate = compareStacks(
      tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 8] }), bn(), dropout] }),
      head,
    );
    expect(rate.difference).toBe("layer 3: rate 0.5 vs 0.2"); // featureHead's first dropout: p / 4
  });
});
