import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import { registerFasterWasmKernels, withReferenceKernels } from "../lib/engine/wasm-kernels";
import * as os from "os";
import { SHIFTED_TRANSFORM_KERNEL, transformChoice } from "../lib/engine/wasm-image-kernels";
import { simdHelperFor } from "../lib/engine/simd-helper";
import { wasmMemoryOf } from "../lib/engine/wasm-simd";

/**
 * Runs `fn` on a backend and returns plain arrays, so results from two backends compare; the backend before is
 * current again afterwards (the wasm tests after a comparison with cpu once ran on cpu, comparing it with itself).
 */
async function on<T extends tf.Tensor | tf.Tensor[]>(
  backend: "cpu" | "wasm",
  fn: () => T,
): Promise<number[][]> {
  const before = tf.getBackend();
  await initBackend(backend);
  try {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const values = await Promise.all(list.map(async (t) => Array.from(await t.data()) as number[]));
    tf.dispose(list);
    return values;
  } finally {
    if (before === "wasm" || before === "cpu") await initBackend(before);
  }
}

function expectClose(actual: number[][], expected: number[][], tolerance = 1e-5) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(a.length).toBe(expected[i].length);
    a.forEach((v, j) =>
      expect(Math.abs(v - expected[i][j])).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(expected[i][j])),
      ),
    );
  });
}

describe("kernels registered for wasm match the cpu backend", () => {
  beforeAll(async () => {
    await initBackend("wasm"); // registers the missing kernels
  });

  it("registers UnsortedSegmentSum and the conv filter gradients", () => {
    for (const name of ["UnsortedSegmentSum", "Conv2DBackpropFilter"])
      expect(tf.getKernel(name, "wasm")).toBeDefined();
  });

  it("UnsortedSegmentSum: values (including repeated and out-of-range ids)", async () => {
    const run = () =>
      tf.unsortedSegmentSum(
        tf.tensor2d([
          [1, 2],
          [3, 4],
          [5, 6],
          [7, 8],
          [9, 10],
        ]),
        tf.tensor1d([0, 2, 0, 3, 2], "int32"),
        4,
      );
    const cpu = await on("cpu", run);
    expectClose(await on("wasm", run), cpu);
    expect(cpu[0]).toEqual([6, 8, 0, 0, 12, 14, 7, 8]);
  });

  it("UnsortedSegmentSum: gradient (a gather) and an Embedding-style gather gradient", async () => {
    const table = tf.randomNormal([7, 3], 0, 1, "float32", 1).arraySync() as number[][];
    const ids = [1, 4, 4, 6, 0];
    const run = () => {
      const weights = tf.tensor2d(table);
      const g = tf.grad((w: tf.Tensor) => tf.gather(w, tf.tensor1d(ids, "int32")).square().sum())(
        weights,
      );
      const g2 = tf.grad((x: tf.Tensor) =>
        tf
          .unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 1, 0], "int32"), 3)
          .sin()
          .sum(),
      )(tf.tensor2d(table.slice(0, 5)));
      return [g, g2];
    };
    expectClose(await on("wasm", run), await on("cpu", run));
  });

  it("Conv2D: the filter and input gradients", async () => {
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, "float32", 2).arraySync();
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 3).arraySync();
    for (const [strides, pad] of [
      [1, "valid"],
      [2, "same"],
    ] as const) {
      const run = () => {
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad)
            .relu()
            .sum(),
        )([tf.tensor4d(x as number[][][][]), tf.tensor4d(w as number[][][][])]);
        return [gx, gw];
      };
      expectClose(await on("wasm", run), await on("cpu", run), 1e-4);
    }
  });

  it("an Embedding layer trains on wasm exactly as on cpu", async () => {
    const train = async (backend: "cpu" | "wasm") => {
      await initBackend(backend);
      const model = tf.sequential({
        layers: [
          tf.layers.embedding({
            inputDim: 10,
            outputDim: 4,
            inputLength: 1,
            embeddingsInitializer: tf.initializers.randomUniform({
              minval: -0.1,
              maxval: 0.1,
              seed: 5,
            }),
          }),
          tf.layers.flatten(),
          tf.layers.dense({
            units: 1,
            kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }),
          }),
        ],
      });
      model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
      const xs = tf.tensor2d([[1], [3], [3], [7], [9], [1]]);
      const ys = tf.tensor2d([[1], [2], [2], [0.5], [-1], [1]]);
      const history = await model.fit(xs, ys, {
        epochs: 5,
        batchSize: 3,
        shuffle: false,
        verbose: 0,
      });
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

describe("image and training kernels (lib/engine/wasm-image-kernels, wasm-training-kernels) match the backend's own wasm kernels", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  beforeEach(async () => {
    await initBackend("wasm");
  });

  /** Values of `fn` with the fast kernels, and with the backend's own kernels for `names`. */
  function fastAndReference(names: string[], fn: () => tf.Tensor): [Float32Array, Float32Array] {
    expect(tf.getBackend()).toBe("wasm");
    const values = () => {
      const t = tf.tidy(fn);
      const v = Float32Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    return [values(), withReferenceKernels(names, values)];
  }

  function expectSame(fast: Float32Array, reference: Float32Array, tolerance: number) {
    expect(fast.length).toBe(reference.length);
    let worst = 0;
    for (let i = 0; i < fast.length; i++) {
      if (Number.isNaN(reference[i])) expect(fast[i]).toBeNaN();
      else
        worst = Math.max(
          worst,
          Math.abs(fast[i] - reference[i]) / Math.max(1, Math.abs(reference[i])),
        );
    }
    expect(worst).toBeLessThanOrEqual(tolerance);
  }

  it("replaces Transform, FusedBatchNorm, Maximum, Minimum, Add, Min and Max", () => {
    const names = registerFasterWasmKernels();
    for (const name of ["Transform", "FusedBatchNorm", "Maximum", "Minimum", "Add", "Min", "Max"])
      expect(names).toContain(name);
  });

  // Three 17x23 images; rotations/shears/shifts that read outside the image, one projective, one with half-pixel
  // shifts (ties for nearest rounding).
  const images = () => tf.randomUniform([3, 17, 23, 3], 0, 255, "float32", 11) as tf.Tensor4D;
  const matrices = () =>
    tf.tensor2d([
      [0.95, 0.31, -4.5, -0.3, 0.95, 3.5, 0, 0],
      [1.1, -0.2, 6.25, 0.15, 0.9, -7.5, 0.002, -0.001],
      [1, 0, 0.5, 0, 1, -0.5, 0, 0],
    ]);

  for (const interpolation of ["bilinear", "nearest"] as const) {
    for (const fill of ["nearest", "constant", "wrap"] as const) {
      it(`Transform ${interpolation}, fill ${fill}: same pixels as the backend's kernel (also another output size and one shared matrix)`, () => {
        const [fast, reference] = fastAndReference(["Transform"], () =>
          tf.image.transform(images(), matrices(), interpolation, fill, 9),
        );
        expectSame(fast, reference, 1e-5);
        const [fast2, reference2] = fastAndReference(["Transform"], () =>
          tf.image.transform(images(), matrices().slice(1, 1), interpolation, fill, 0, [11, 29]),
        );
        expectSame(fast2, reference2, 1e-5);
      });
    }
  }

  it("Transform's SIMD-module warp (affine, bilinear, fill nearest or constant) gives the JS loop's pixels bit for bit", () => {
    // 1, 3 and 4 channels, a NaN pixel, shifts that leave the image or go far outside it, a NaN matrix entry, another output size
    const mats = tf.tensor2d([
      [0.95, 0.31, -4.5, -0.3, 0.95, 3.5, 0, 0],
      [1.02, -0.07, 1e10, 0.04, 0.98, -3e9, 0, 0],
      [1, 0, 0.5, 0, 1, -0.5, 0, 0],
      [0.8, NaN, 2, 0.1, 1.3, 1, 0, 0],
    ]);
    let compared = 0;
    for (const ch of [1, 3, 4]) {
      const pixels = tf.randomUniform([4, 19, 26, ch], 0, 255, "float32", 30 + ch).dataSync();
      pixels[7] = NaN;
      for (const fill of ["nearest", "constant"] as const) {
        for (const size of [undefined, [31, 12] as [number, number]]) {
          const run = () => {
            const t = tf.tidy(() =>
              tf.image.transform(
                tf.tensor4d(pixels, [4, 19, 26, ch]),
                mats,
                "bilinear",
                fill,
                7,
                size,
              ),
            );
            const v = Float32Array.from(t.dataSync());
            t.dispose();
            return v;
          };
          transformChoice.wasmWarp = false;
          const js = run();
          transformChoice.wasmWarp = true;
          const simd = run();
          expect(simd.length).toBe(js.length);
          for (let i = 0; i < js.length; i++)
            if (!Object.is(simd[i], js[i])) expect([i, simd[i]]).toEqual([i, js[i]]);
          compared += js.length;
        }
      }
    }
    mats.dispose();
    expect(compared).toBeGreaterThan(10_000);
  });

  it("a batch's warp split with the helper thread gives every image its own warp, bit for bit", () => {
    const memory = wasmMemoryOf(tf.backend());
    // the split is what this tests: there is a helper wherever the memory is shared and there are 2 CPUs or more
    if (os.cpus().length > 1 && memory?.buffer instanceof SharedArrayBuffer)
      expect(simdHelperFor(memory)).toBeTruthy();
    const n = 9;
    const pixels = tf.randomUniform([n, 21, 17, 3], 0, 255, "float32", 50) as tf.Tensor4D;
    const mats = tf.tensor2d(
      Array.from({ length: n }, (_, i) => [
        1 + 0.01 * i,
        0.2 - 0.05 * i,
        i - 3,
        -0.1 * i,
        0.97,
        2 - i,
        0,
        0,
      ]),
    );
    for (const fill of ["nearest", "constant"] as const) {
      const whole = tf.image.transform(pixels, mats, "bilinear", fill, 3, [26, 19]);
      const each = tf.concat(
        Array.from({ length: n }, (_, i) =>
          tf.image.transform(
            pixels.slice(i, 1),
            mats.slice(i, 1) as tf.Tensor2D,
            "bilinear",
            fill,
            3,
            [26, 19],
          ),
        ),
      );
      const a = whole.dataSync(),
        b = each.dataSync();
      for (let i = 0; i < a.length; i++)
        if (!Object.is(a[i], b[i])) expect([i, a[i]]).toEqual([i, b[i]]);
      tf.dispose([whole, each]);
    }
    tf.dispose([pixels, mats]);
  });

  it("the augmenter's warp and channel shift as one kernel: Transform, Min, Max, Add, Maximum and Minimum's values bit for bit", () => {
    expect(tf.getKernel(SHIFTED_TRANSFORM_KERNEL, "wasm")).toBeDefined();
    // 7 images (the helper thread takes some), a NaN pixel, shifts of 0 and either sign; an output size whose images
    // are not a whole number of SIMD lanes (45 x 37 x 3 = 4995 values) and the input's own
    const n = 7;
    const values = tf.randomUniform([n, 30, 40, 3], 0, 255, "float32", 51).dataSync();
    values[3 * 3600 + 77] = NaN;
    const shifts = [12.5, -19, 0, 3.25, -0.5, 20, -7];
    const mats = tf.tensor2d(
      Array.from({ length: n }, (_, i) => [
        0.96 + 0.01 * i,
        0.25 - 0.07 * i,
        2 * i - 5,
        0.05 * i - 0.2,
        1.02,
        3 - i,
        0,
        0,
      ]),
    );
    let compared = 0;
    for (const fill of ["nearest", "constant"] as const) {
      for (const outputShape of [null, [45, 37] as [number, number]]) {
        const image = tf.tensor4d(values, [n, 30, 40, 3]);
        const fused = tf
          .engine()
          .runKernel(
            SHIFTED_TRANSFORM_KERNEL,
            { image, transforms: mats, shifts: tf.tensor1d(shifts) },
            {
              interpolation: "bilinear",
              fillMode: fill,
              fillValue: 4,
              outputShape,
            } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        const ops = tf.tidy(() => {
          const warped = tf.image.transform(
            image,
            mats,
            "bilinear",
            fill,
            4,
            outputShape ?? undefined,
          );
          const lo = warped.min([1, 2, 3], true),
            hi = warped.max([1, 2, 3], true);
          return warped
            .add(tf.tensor4d(shifts, [n, 1, 1, 1]))
            .maximum(lo)
            .minimum(hi);
        });
        const a = fused.dataSync(),
          b = ops.dataSync();
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++)
          if (!Object.is(a[i], b[i])) expect([i, a[i]]).toEqual([i, b[i]]);
        compared += a.length;
        expect(Number.isNaN(a[3 * (a.length / n) + 5])).toBe(true); // the NaN pixel's image is NaN after the clip
        tf.dispose([image, fused, ops]);
      }
    }
    expect(compared).toBeGreaterThan(100_000);
    expect(() =>
      tf
        .engine()
        .runKernel(
          SHIFTED_TRANSFORM_KERNEL,
          { image: tf.zeros([2, 4, 4, 3]), transforms: mats.slice(0, 2), shifts: tf.tensor1d([1]) },
          {
            interpolation: "bilinear",
            fillMode: "nearest",
            fillValue: 0,
          } as unknown as tf.NamedAttrMap,
        ),
    ).toThrow(/one float32 shift per image/);
    mats.dispose();
  });

  it("Transform fill reflect: TensorFlow's [dcba|abcd|dcba] (the cpu backend's kernel, one image at a time)", async () => {
    for (let i = 0; i < 3; i++) {
      const run = () =>
        tf.image.transform(images().slice(i, 1), matrices().slice(i, 1), "bilinear", "reflect");
      expectClose(await on("wasm", run), await on("cpu", run), 1e-4); // float32 coordinates here, float64 there
    }
  });

  it("Minimum/Maximum/Add against a scalar (ReLU6) and per-image values, with NaN, odd sizes and the scalar first", () => {
    const x = () => {
      const v = tf.randomNormal([2, 5, 7, 3], 0, 8, "float32", 12).dataSync();
      v[5] = NaN;
      return tf.tensor4d(v, [2, 5, 7, 3]);
    };
    const bounds = () => tf.tensor4d([-1, 2.5], [2, 1, 1, 1]);
    const cases: Array<[string, () => tf.Tensor]> = [
      ["Minimum", () => tf.minimum(x(), 6)],
      ["Maximum", () => tf.maximum(tf.scalar(-2), x())],
      ["Maximum", () => tf.maximum(x(), bounds())],
      ["Minimum", () => tf.minimum(bounds(), x())],
      ["Minimum", () => tf.minimum(x().reshape([70, 3]), tf.tensor2d([[0.5], [1]]).tile([35, 1]))], // [70, 1]: blocks of 3
      ["Maximum", () => tf.maximum(x(), tf.tensor1d([0, 1, 2]))], // per channel: the backend's kernel
      ["Minimum", () => tf.minimum(x(), x().mul(0.5))], // same shape: the backend's kernel
      ["Minimum", () => tf.relu(tf.randomNormal([4, 64, 64, 32], 0, 8, "float32", 13)).minimum(6)], // SIMD-sized
      ["Add", () => tf.add(x(), bounds())], // the channel shift: one value per image
      ["Add", () => tf.add(tf.scalar(0.25), x())],
      [
        "Add",
        () =>
          tf.add(
            tf.randomNormal([4, 64, 64, 32], 0, 8, "float32", 14),
            tf.tensor4d([1, -2, 3.5, NaN], [4, 1, 1, 1]),
          ),
      ], // SIMD-sized
      ["Add", () => tf.add(x(), tf.tensor1d([0, 1, 2]))], // per channel: the backend's kernel
      ["Add", () => tf.add(x(), x())], // same shape: the backend's kernel
    ];
    for (const [name, fn] of cases) {
      const [fast, reference] = fastAndReference([name], fn);
      expectSame(fast, reference, 0);
    }
  });

  it("Min/Max over trailing axes (the channel shift's per-image range): the backend's values, NaN first or later, signed zeros, odd blocks; other axes and int32 to its kernel", () => {
    const x = (nanAt: number[]) => {
      const v = tf.randomNormal([3, 9, 7, 3], 0, 8, "float32", 40).dataSync();
      for (const i of nanAt) v[i] = NaN;
      return tf.tensor4d(v, [3, 9, 7, 3]);
    };
    // NaN as an image's first value, as a later lane's first value, and mid-block (NaN anywhere gives NaN); +0 and -0
    // (equal values; which zero's sign the result has may differ from the backend's kernel)
    const nans = [189, 189 * 2 + 2, 100];
    const cases: Array<[string, () => tf.Tensor]> = [
      ["Min", () => x(nans).min([1, 2, 3], true)],
      ["Max", () => x(nans).max([1, 2, 3], true)],
      ["Min", () => x([]).min([-1, -3, 2])],
      [
        "Min",
        () =>
          tf.tensor2d([[1, 0, 2, 3, -0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0]]).min(1),
      ],
      [
        "Max",
        () =>
          tf
            .tensor2d([
              [-1, -0, -2, -3, 0, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -0],
            ])
            .max(1),
      ],
      ["Max", () => x([]).reshape([3, 189]).max(1)],
      ["Max", () => x([]).reshape([3, 63, 3]).max([1, 2])],
      ["Min", () => tf.randomUniform([2, 224, 224, 3], 0, 255, "float32", 41).min([1, 2, 3], true)], // SIMD-sized
      ["Min", () => x([]).min(1)], // not trailing: the backend's kernel
      ["Max", () => x([]).max([1, 2, 3]).reshape([3, 1]).max(1)], // a block of 1: the backend's kernel
      [
        "Max",
        () =>
          tf
            .tensor2d([[3, -7, 5, 2, 8, 1, 0, 4, 9, 6, 2, 3, 1, 1, 1, 12, 5]], [1, 17], "int32")
            .max(1),
      ],
    ];
    for (const [name, fn] of cases) {
      const [fast, reference] = fastAndReference([name], fn);
      expectSame(fast, reference, 0);
    }
  });

  it("FusedBatchNorm: per-channel and scalar parameters, 4-d parameters, without offset or scale, 3 and 32 channels", () => {
    for (const c of [3, 32]) {
      const x = () => tf.randomNormal([2, 6, 5, c], 1, 3, "float32", 14);
      const p = (seed: number, lo: number, hi: number) =>
        tf.randomUniform([c], lo, hi, "float32", seed);
      const cases: Array<() => tf.Tensor> = [
        () => tf.batchNorm(x(), p(1, -1, 1), p(2, 0.1, 4), p(3, -1, 1), p(4, 0.5, 2), 0.001),
        () => tf.batchNorm(x(), p(1, -1, 1), p(2, 0.1, 4), undefined, undefined, 0.01),
        () =>
          tf.batchNorm(
            x(),
            p(1, -1, 1).reshape([1, 1, 1, c]),
            p(2, 0.1, 4).reshape([1, 1, 1, c]),
            p(3, -1, 1).reshape([1, 1, 1, c]),
            p(4, 0.5, 2).reshape([1, 1, 1, c]),
            0.001,
          ),
        () =>
          tf.batchNorm(x(), tf.scalar(0.3), tf.scalar(2), tf.scalar(-0.5), tf.scalar(1.5), 0.001),
      ];
      for (const fn of cases) {
        const [fast, reference] = fastAndReference(["FusedBatchNorm"], fn);
        expectSame(fast, reference, 1e-5);
      }
    }
  });

  it("a MobileNet-style block (conv, batch norm, ReLU6, depthwise conv) predicts the same", () => {
    const input = tf.input({ shape: [16, 16, 3] });
    let y = tf.layers
      .conv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        useBias: false,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      })
      .apply(input) as tf.SymbolicTensor;
    y = tf.layers
      .batchNormalization({
        movingMeanInitializer: tf.initializers.randomUniform({
          minval: -0.2,
          maxval: 0.2,
          seed: 2,
        }),
        movingVarianceInitializer: tf.initializers.randomUniform({
          minval: 0.5,
          maxval: 2,
          seed: 3,
        }),
      })
      .apply(y) as tf.SymbolicTensor;
    y = tf.layers.reLU({ maxValue: 6 }).apply(y) as tf.SymbolicTensor;
    y = tf.layers
      .depthwiseConv2d({
        kernelSize: 3,
        padding: "same",
        depthwiseInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      })
      .apply(y) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    const [fast, reference] = fastAndReference(
      ["FusedBatchNorm", "Minimum", "Maximum"],
      () => model.predict(tf.randomUniform([4, 16, 16, 3], -1, 1, "float32", 5)) as tf.Tensor,
    );
    expectSame(fast, reference, 1e-5);
    model.dispose();
  });

  it("replaces Tile, Sum, Mean and MaxPoolGrad (a small CNN's training kernels)", () => {
    const names = registerFasterWasmKernels();
    for (const name of ["Tile", "Sum", "Mean", "MaxPoolGrad"]) expect(names).toContain(name);
  });

  it("Tile: per-channel statistics to a batch, a middle axis, int32 and bool, a single rep and an empty result", () => {
    const cases: Array<[string, () => tf.Tensor]> = [
      ["Tile", () => tf.tile(tf.randomNormal([1, 1, 1, 5], 0, 1, "float32", 21), [3, 4, 6, 1])],
      ["Tile", () => tf.tile(tf.randomNormal([2, 3, 4], 0, 1, "float32", 22), [2, 1, 3])],
      [
        "Tile",
        () =>
          tf.tile(
            tf.tensor2d(
              [
                [1, 2],
                [3, 4],
              ],
              [2, 2],
              "int32",
            ),
            [3, 2],
          ),
      ],
      ["Tile", () => tf.tile(tf.tensor1d([true, false], "bool"), [3]).cast("float32")],
      ["Tile", () => tf.tile(tf.randomNormal([4, 3], 0, 1, "float32", 23), [1, 1])],
      ["Tile", () => tf.tile(tf.randomNormal([4, 3], 0, 1, "float32", 24), [0, 2])],
    ];
    for (const [name, fn] of cases) {
      const [fast, reference] = fastAndReference([name], fn);
      expectSame(fast, reference, 0);
    }
  });

  it("Slice: contiguous runs (a batch of an index array, rows, a sub-block's last axis), empty, and non-contiguous ones from the backend's kernel", () => {
    expect(registerFasterWasmKernels()).toContain("Slice");
    const indices = () =>
      tf.tensor1d(
        Int32Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000),
        "int32",
      );
    const grid = () => tf.randomNormal([6, 5, 4], 0, 1, "float32", 30);
    const cases: Array<() => tf.Tensor> = [
      () => tf.slice(indices(), 128, 64),
      () => tf.slice(indices(), 990), // to the end
      () => tf.slice(grid(), [2, 0, 0], [3, -1, -1]),
      () => tf.slice(grid(), [4, 2, 0], [1, 1, 4]),
      () => tf.slice(grid(), [1, 1, 1], [0, 2, 2]),
      () => tf.slice(grid(), [1, 1, 1], [2, 3, 2]), // not contiguous
      () => tf.slice(tf.tensor1d([true, false, true, true], "bool"), 1, 2).cast("float32"),
    ];
    for (const fn of cases) {
      const [fast, reference] = fastAndReference(["Slice"], fn);
      expectSame(fast, reference, 0);
      const shapes = [
        tf.tidy(() => fn().shape),
        withReferenceKernels(["Slice"], () => tf.tidy(() => fn().shape)),
      ];
      expect(shapes[0]).toEqual(shapes[1]);
    }
    expect(Array.from(tf.tidy(() => tf.slice(indices(), 2, 3).dataSync()))).toEqual([
      838, 757, 676,
    ]);
  });

  it("Sum and Mean over leading axes (with keepDims, one axis, negative axes given out of order); other axes and int32 go to the backend's kernel", () => {
    const x = () => tf.randomNormal([6, 5, 7, 4], 1, 3, "float32", 25);
    const cases: Array<[string, () => tf.Tensor]> = [
      ["Sum", () => tf.sum(x(), [0, 1, 2])],
      ["Sum", () => tf.sum(x(), [2, 0, 1], true)],
      ["Mean", () => tf.mean(x(), [-3, -4, -2])],
      ["Mean", () => tf.mean(x().reshape([210, 4]), 0, true)],
      ["Sum", () => tf.sum(x(), [1, 2])],
      ["Sum", () => tf.sum(x())],
      [
        "Sum",
        () =>
          tf
            .sum(
              tf.tensor2d(
                [
                  [1, 2],
                  [3, 4],
                ],
                [2, 2],
                "int32",
              ),
              0,
            )
            .cast("float32"),
      ],
      ["Sum", () => tf.sum(tf.randomNormal([9, 7], 1, 3, "float32", 28), 0)], // an odd width: the last column outside the SIMD pass
      ["Mean", () => tf.mean(tf.randomNormal([9, 1], 1, 3, "float32", 29), 0)], // a single column
    ];
    for (const [name, fn] of cases) {
      const [fast, reference] = fastAndReference([name], fn);
      expectSame(fast, reference, 1e-5);
    }
  });

  it("MaxPoolGrad: valid and same padding, overlapping and ragged windows, ties and NaN, as the cpu backend's (3 channels in JS, 8 in the SIMD module)", async () => {
    for (const c of [3, 8]) {
      const x = () => {
        const v = tf.randomNormal([2, 9, 11, c], 0, 1, "float32", 26).dataSync();
        v[c + 1] = v[2 * c + 1] = 2.5; // a tie inside one window (channel 1, neighbouring pixels)
        v[6 * c + c - 1] = v[(11 + 6) * c + c - 1] = 3; // one in the last channel, a row apart
        v[40] = NaN;
        v[41] = -Infinity;
        return tf.tensor4d(v, [2, 9, 11, c]);
      };
      const grad =
        (
          size: number | [number, number],
          stride: number | [number, number],
          pad: "valid" | "same",
        ) =>
        () =>
          tf.grad((xx: tf.Tensor) =>
            tf
              .maxPool(xx as tf.Tensor4D, size, stride, pad)
              .mul(
                tf.randomNormal(
                  tf.maxPool(xx as tf.Tensor4D, size, stride, pad).shape,
                  0,
                  1,
                  "float32",
                  27,
                ),
              )
              .sum(),
          )(x());
      for (const [size, stride, pad] of [
        [3, 3, "valid"],
        [2, 2, "same"],
        [3, 2, "same"],
        [[2, 3], [1, 2], "valid"],
      ] as const) {
        expectClose(
          await on("wasm", grad(size as number, stride as number, pad)),
          await on("cpu", grad(size as number, stride as number, pad)),
          1e-6,
        );
      }
    }
  });

  it("a small CNN's training steps (conv, batch norm, max pooling, dense) give the same weights with and without the fast kernels", () => {
    const train = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.batchNormalization({ inputShape: [14, 18, 3] }),
          tf.layers.conv2d({
            filters: 8,
            kernelSize: 3,
            activation: "relu",
            kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }),
          }),
          tf.layers.batchNormalization(),
          tf.layers.maxPooling2d({ poolSize: 3 }),
          tf.layers.flatten(),
          tf.layers.dense({
            units: 4,
            activation: "softmax",
            kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
          }),
        ],
      });
      const optimizer = tf.train.sgd(0.05);
      const xs = tf.randomUniform([16, 14, 18, 3], 0, 255, "float32", 8);
      const ys = tf.oneHot(
        tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], "int32"),
        4,
      );
      for (let step = 0; step < 3; step++)
        optimizer.minimize(
          () =>
            tf.losses.softmaxCrossEntropy(
              ys,
              model.apply(xs, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
        );
      const weights = Float32Array.from(
        model.getWeights().flatMap((w) => Array.from(w.dataSync())),
      );
      tf.dispose([xs, ys]);
      model.dispose();
      optimizer.dispose();
      return weights;
    };
    const fast = train();
    // MaxPoolGrad is left out here: where a window holds equal maxima (ReLU's zeros after a batch norm) the backend's
    // own kernel passes the gradient to another of them than the cpu backend's and TensorFlow's first one, as the
    // fast kernel does (its test above compares it with the cpu backend's, ties included)
    const reference = withReferenceKernels(["Tile", "Sum", "Mean", "BatchMatMul"], train);
    expectSame(fast, reference, 1e-4);
    expect(tf.getBackend()).toBe("wasm");
  });
});
