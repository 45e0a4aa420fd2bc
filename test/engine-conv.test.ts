import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import {
  PATCH_ROWS_KERNEL,
  conv2dFilterGradient,
  patchRowsChoice,
} from "../lib/engine/conv-filter-gradient";
import { RELU_GRAD_KERNEL } from "../lib/engine/relu-grad";
import { COL2IM_KERNEL, conv2dInputGradient } from "../lib/engine/conv-input-gradient";

describe("a convolution's filter gradient as one matrix product (lib/engine/conv-filter-gradient)", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("is registered on wasm", () => {
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.getKernel(PATCH_ROWS_KERNEL, "wasm")).toBeDefined();
  });

  // RGB and 32 channels, square and oblong filters, one image and several
  for (const [shape, kh, kw, filters] of [
    [[3, 9, 8, 3], 3, 3, 5],
    [[2, 7, 11, 32], 2, 3, 4],
    [[1, 5, 5, 2], 5, 1, 3],
  ] as const) {
    it(`x ${JSON.stringify(shape)}, a ${kh}x${kw} filter: tf.conv2d's filter gradient`, () => {
      const x = tf.randomNormal([...shape], 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal([kh, kw, shape[3], filters], 0, 1, "float32", 2) as tf.Tensor4D;
      const dy = tf.randomNormal(
        [shape[0], shape[1] - kh + 1, shape[2] - kw + 1, filters],
        0,
        1,
        "float32",
        3,
      ) as tf.Tensor4D;
      // the reference: tfjs's own gradient of conv2d (Conv2DBackpropFilter) for the loss sum(conv2d(x, w) * dy)
      const reference = tf.grad((ww: tf.Tensor) =>
        tf
          .conv2d(x, ww as tf.Tensor4D, 1, "valid")
          .mul(dy)
          .sum(),
      )(w);
      const scale = reference.abs().max().dataSync()[0];
      for (const simd of [true, false]) {
        patchRowsChoice.simd = simd; // the SIMD module's copy loop, and the JS one
        const ours = conv2dFilterGradient(x, dy, kh, kw);
        expect(ours.shape).toEqual(w.shape);
        expect(tf.max(tf.abs(ours.sub(reference))).dataSync()[0]).toBeLessThan(1e-5 * (1 + scale));
        ours.dispose();
      }
      patchRowsChoice.simd = true;
      tf.dispose([x, w, dy, reference]);
    });
  }
});

/**
 * conv2dInputGradient against tfjs's own gradient of conv2d (Conv2DBackpropInput) for the loss sum(conv2d(x, w) * dy),
 * on random w and dy: the largest difference, the reference's largest value, and whether the column route ran.
 */
async function inputGradientCase(
  shape: readonly number[],
  kh: number,
  kw: number,
  filters: number,
) {
  const w = tf.randomNormal([kh, kw, shape[3], filters], 0, 1, "float32", 2) as tf.Tensor4D;
  const dy = tf.randomNormal(
    [shape[0], shape[1] - kh + 1, shape[2] - kw + 1, filters],
    0,
    1,
    "float32",
    3,
  ) as tf.Tensor4D;
  const x = tf.zeros<tf.Rank>([...shape]) as tf.Tensor4D;
  const reference = tf.grad((xx: tf.Tensor) =>
    tf
      .conv2d(xx as tf.Tensor4D, w, 1, "valid")
      .mul(dy)
      .sum(),
  )(x);
  const profile = await tf.profile(() => conv2dInputGradient(dy, w));
  const ours = profile.result as tf.Tensor;
  expect(ours.shape).toEqual(shape);
  const difference = tf.max(tf.abs(ours.sub(reference))).dataSync()[0];
  const scale = reference.abs().max().dataSync()[0];
  tf.dispose([x, w, dy, reference, ours]);
  return { difference, scale, columnRoute: profile.kernelNames.includes(COL2IM_KERNEL) };
}

describe("a convolution's input gradient (lib/engine/conv-input-gradient)", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  // RGB with a square filter (runs of 9: SIMD and a tail), 2 channels with a 3x2 filter (runs of 4), one channel
  for (const [shape, kh, kw, filters] of [
    [[3, 9, 8, 3], 3, 3, 5],
    [[2, 7, 11, 2], 3, 2, 4],
    [[1, 6, 5, 1], 2, 3, 3],
  ] as const) {
    it(`x ${JSON.stringify(shape)}, a ${kh}x${kw} filter: the column route, tf.conv2d's input gradient`, async () => {
      const { difference, scale, columnRoute } = await inputGradientCase(shape, kh, kw, filters);
      expect(columnRoute).toBe(true);
      expect(scale).toBeGreaterThan(0.1);
      expect(difference).toBeLessThan(1e-5 * (1 + scale));
    });
  }

  it("takes the padded convolution for inputs with many channels and on other backends, with the same values", async () => {
    const many = await inputGradientCase([2, 6, 7, 8], 3, 3, 4);
    await initBackend("cpu");
    const cpu = await inputGradientCase([2, 6, 7, 3], 3, 3, 4);
    await initBackend("wasm");
    for (const { difference, scale, columnRoute } of [many, cpu]) {
      expect(columnRoute).toBe(false);
      expect(scale).toBeGreaterThan(0.1);
      expect(difference).toBeLessThan(1e-5 * (1 + scale));
    }
  });
});

describe("ReLU's gradient in one pass on wasm (lib/engine/relu-grad)", () => {
  it("gives tfjs's dy * step(x): zeros, NaN, infinities, an odd length; the cpu backend keeps tfjs's own", async () => {
    const values = [2, -1, 0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30, 3.5, -7, 0.25, 9];
    const dys = [1, 2, -3, 4, 5, -6, 7, 8, 9, -10, NaN, 12, -13];
    const run = () =>
      tf.grad((x: tf.Tensor) => tf.relu(x).mul(tf.tensor1d(dys)).sum())(tf.tensor1d(values));
    const big = () =>
      tf.grad((x: tf.Tensor) =>
        tf
          .relu(x)
          .mul(tf.randomNormal([3, 50, 7], 0, 1, "float32", 6))
          .sum(),
      )(tf.randomNormal([3, 50, 7], 0, 1, "float32", 5));
    await initBackend("cpu");
    const cpu = [Array.from(run().dataSync()), Array.from(big().dataSync())];
    await initBackend("wasm");
    expect(tf.getKernel(RELU_GRAD_KERNEL, "wasm")).toBeDefined();
    const wasm = [Array.from(run().dataSync()), Array.from(big().dataSync())];
    expect(wasm[0].map(String)).toEqual(cpu[0].map(String)); // NaN where cpu has NaN, -0 kept apart from 0 by Object.is below
    wasm[0].forEach((v, i) =>
      expect(Object.is(v, cpu[0][i]), `${i}: ${v} vs ${cpu[0][i]}`).toBe(true),
    );
    expect(wasm[1]).toEqual(cpu[1]);
  });
});
