import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";

/** Runs `fn` on a backend and returns plain arrays, so results from two backends compare. */
async function on<T extends tf.Tensor | tf.Tensor[]>(backend: "cpu" | "wasm", fn: () => T): Promise<number[][]> {
  await initBackend(backend);
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const values = await Promise.all(list.map(async (t) => Array.from(await t.data()) as number[]));
  tf.dispose(list);
  return values;
}

function expectClose(actual: number[][], expected: number[][], tolerance = 1e-5) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(a.length).toBe(expected[i].length);
    a.forEach((v, j) => expect(Math.abs(v - expected[i][j])).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected[i][j]))));
  });
}

describe("kernels registered for wasm match the cpu backend", () => {
  beforeAll(async () => {
    await initBackend("wasm"); // registers the missing kernels
  });

  it("registers UnsortedSegmentSum and the conv filter gradients", () => {
    for (const name of ["UnsortedSegmentSum", "Conv2DBackpropFilter"]) expect(tf.getKernel(name, "wasm")).toBeDefined();
  });

  it("UnsortedSegmentSum: values (including repeated and out-of-range ids)", async () => {
    const run = () => tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]), tf.tensor1d([0, 2, 0, 3, 2], "int32"), 4);
    const cpu = await on("cpu", run);
    expectClose(await on("wasm", run), cpu);
    expect(cpu[0]).toEqual([6, 8, 0, 0, 12, 14, 7, 8]);
  });

  it("UnsortedSegmentSum: gradient (a gather) and an Embedding-style gather gradient", async () => {
    const table = tf.randomNormal([7, 3], 0, 1, "float32", 1).arraySync() as number[][];
    const ids = [1, 4, 4, 6, 0];
    const run = () => {
      const weights = tf.tensor2d(table);
      const g = tf.grad((w: tf.Tensor) => tf.gather(w, tf.tensor1d(ids, "int32")).square().sum())(weights);
      const g2 = tf.grad((x: tf.Tensor) => tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 1, 0], "int32"), 3).sin().sum())(tf.tensor2d(table.slice(0, 5)));
      return [g, g2];
    };
    expectClose(await on("wasm", run), await on("cpu", run));
  });

  it("Conv2D: the filter and input gradients", async () => {
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, "float32", 2).arraySync();
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 3).arraySync();
    for (const [strides, pad] of [[1, "valid"], [2, "same"]] as const) {
      const run = () => {
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad).relu().sum())([tf.tensor4d(x as number[][][][]), tf.tensor4d(w as number[][][][])]);
        return [gx, gw];
      };
      expectClose(await on("wasm", run), await on("cpu", run), 1e-4);
    }
  });

  it("an Embedding layer trains on wasm exactly as on cpu", async () => {
    const train = async (backend: "cpu" | "wasm") => {
      await initBackend(backend);
      const model = tf.sequential({
        layers: [tf.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 1, embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 5 }) }), tf.layers.flatten(), tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) })],
      });
      model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
      const xs = tf.tensor2d([[1], [3], [3], [7], [9], [1]]);
      const ys = tf.tensor2d([[1], [2], [2], [0.5], [-1], [1]]);
      const history = await model.fit(xs, ys, { epochs: 5, batchSize: 3, shuffle: false, verbose: 0 });
      const weights = Array.from(model.getWeights()[0].dataSync());
      tf.dispose([xs, ys]);
      model.dispose();
      return { loss: history.history.loss as number[], weights };
    };
    const cpu = await train("cpu");
    const wasm = await train("wasm");
    expectClose([wasm.loss, wasm.weights], [cpu.loss, cpu.weights], 1e-5);
    expect(cpu.loss[4]).toBeLessThan(cpu.loss[0]);
  });
});
