import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import { PATCH_ROWS_KERNEL, conv2dFilterGradient } from "../lib/engine/conv-filter-gradient";

describe("a convolution's filter gradient as one matrix product (lib/engine/conv-filter-gradient)", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("is registered on wasm", () => {
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.getKernel(PATCH_ROWS_KERNEL, "wasm")).toBeDefined();
  });

  // RGB and 32 channels, square and oblong filters, one image and several
  for (const [shape, kh, kw, filters] of [[[3, 9, 8, 3], 3, 3, 5], [[2, 7, 11, 32], 2, 3, 4], [[1, 5, 5, 2], 5, 1, 3]] as const) {
    it(`x ${JSON.stringify(shape)}, a ${kh}x${kw} filter: tf.conv2d's filter gradient`, () => {
      const x = tf.randomNormal([...shape], 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal([kh, kw, shape[3], filters], 0, 1, "float32", 2) as tf.Tensor4D;
      const dy = tf.randomNormal([shape[0], shape[1] - kh + 1, shape[2] - kw + 1, filters], 0, 1, "float32", 3) as tf.Tensor4D;
      // the reference: tfjs's own gradient of conv2d (Conv2DBackpropFilter) for the loss sum(conv2d(x, w) * dy)
      const reference = tf.grad((ww: tf.Tensor) => tf.conv2d(x, ww as tf.Tensor4D, 1, "valid").mul(dy).sum())(w);
      const ours = conv2dFilterGradient(x, dy, kh, kw);
      expect(ours.shape).toEqual(w.shape);
      const scale = reference.abs().max().dataSync()[0];
      expect(tf.max(tf.abs(ours.sub(reference))).dataSync()[0]).toBeLessThan(1e-5 * (1 + scale));
      tf.dispose([x, w, dy, reference, ours]);
    });
  }
});
