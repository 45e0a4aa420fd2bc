import { describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import { FusedAdamOptimizer, createAdam, embeddingRows } from "../lib/engine/fused-adam";
import { l2Penalty } from "../lib/engine/fused-l2";
import { touchedRows } from "../lib/engine/wasm-kernels";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i])));
};

/** Trains a small regression with both optimizers from the same start; returns the weights after each. */
function trainBoth(
  make: () => tf.Optimizer,
  reference: () => tf.Optimizer,
  steps = 6,
): [Float32Array, Float32Array] {
  const init = tf.randomNormal([5, 3], 0, 1, "float32", 7);
  const x = tf.randomNormal([8, 5], 0, 1, "float32", 8);
  const y = tf.randomNormal([8, 3], 0, 1, "float32", 9);
  const run = (opt: tf.Optimizer) => {
    const w = tf.variable(init.clone());
    for (let s = 0; s < steps; s++)
      opt.minimize(() => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tf.Scalar, false, [w]);
    const out = w.dataSync() as Float32Array;
    w.dispose();
    return out;
  };
  return [run(make()), run(reference())];
}

for (const backend of ["wasm", "cpu"] as const) {
  describe(`fast training kernels on ${backend} match the reference ops`, () => {
    it("fused Adam gives tf.train.adam's weights step by step", async () => {
      await initBackend(backend);
      const [fused, reference] = trainBoth(
        () => new FusedAdamOptimizer(0.05),
        () => tf.train.adam(0.05),
      );
      close(fused, reference, 1e-5);
      const [, slower] = trainBoth(
        () => new FusedAdamOptimizer(0.05),
        () => tf.train.adam(0.01),
      );
      expect(Math.max(...Array.from(slower, (v, i) => Math.abs(v - fused[i])))).toBeGreaterThan(
        1e-3,
      ); // the comparison can fail
    });

    it("L2 penalty: same value and gradient as tf.regularizers.l2", async () => {
      await initBackend(backend);
      const w = tf.variable(tf.randomNormal([40, 6], 0, 1, "float32", 3));
      const ours = tf.variableGrads(() => l2Penalty(w, 1e-3), [w]);
      const ref = tf.variableGrads(() => tf.regularizers.l2({ l2: 1e-3 }).apply(w), [w]);
      close(ours.value.dataSync(), ref.value.dataSync(), 1e-5);
      close(ours.grads[w.name].dataSync(), ref.grads[w.name].dataSync(), 1e-6);
      expect(ours.value.dataSync()[0]).toBeGreaterThan(0);
    });
  });
}

describe("lazy Adam on Embedding rows (wasm)", () => {
  it("updates exactly the rows a batch looked up, and those as dense Adam would", async () => {
    await initBackend("wasm");
    const start = tf.randomNormal([10, 4], 0, 1, "float32", 5);
    const ids = tf.tensor1d([2, 7, 2], "int32");
    const target = tf.randomNormal([3, 4], 0, 1, "float32", 6);
    const step = (opt: tf.Optimizer) => {
      const w = tf.variable(start.clone(), true, `embeddings_${Math.random()}`);
      for (let s = 0; s < 3; s++)
        opt.minimize(
          () => tf.losses.meanSquaredError(target, tf.gather(w, ids)) as tf.Scalar,
          false,
          [w],
        );
      const out = w.dataSync() as Float32Array;
      w.dispose();
      return out;
    };
    const dense = step(tf.train.adam(0.1));
    const lazy = step(createAdam(0.1, { lazy: true }));
    touchedRows.record(false);
    const before = start.dataSync();
    for (let row = 0; row < 10; row++) {
      const slice = (a: ArrayLike<number>) => Array.from(a).slice(row * 4, row * 4 + 4);
      if (row === 2 || row === 7) {
        close(slice(lazy), slice(dense), 1e-5);
        expect(slice(lazy)).not.toEqual(slice(before));
      } else expect(slice(lazy)).toEqual(slice(before));
    }
  });

  it("notes the rows each Embedding gradient touched, and forgets them on reset", async () => {
    await initBackend("wasm");
    const rows = embeddingRows();
    const w = tf.variable(tf.zeros([6, 2]), true, "some_embeddings");
    tf.variableGrads(() => tf.sum(tf.gather(w, tf.tensor1d([4, 1, 4], "int32"))), [w]);
    expect(Array.from(rows.rows(w.name, 6)!)).toEqual([1, 4]);
    expect(rows.rows("dense_kernel", 6)).toBeNull();
    rows.reset();
    expect(rows.rows(w.name, 6)).toBeNull();
    touchedRows.record(false);
    w.dispose();
  });
});
