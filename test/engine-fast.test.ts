import * as os from "os";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import { adamStep, createAdam, FusedAdamOptimizer } from "../lib/engine/fused-adam";
import { fastL2, l2Penalty, sumSquaresCache, withFoldedL2 } from "../lib/engine/fused-l2";
import {
  simdKernels,
  TINY_MOMENT,
  TINY_SQUARED_GRADIENT,
  TINY_WEIGHT,
} from "../lib/engine/wasm-simd";

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++)
    d = Math.max(d, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return d;
};

/** Runs `fn` on a backend and returns the values of its tensors; the backend before is current again afterwards. */
async function valuesOn(
  backend: "cpu" | "wasm",
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  const before = tf.getBackend();
  await initBackend(backend);
  try {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const values = list.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(list);
    return values;
  } finally {
    if (before === "wasm" || before === "cpu") await initBackend(before);
  }
}

/** A small Embedding + Dense model like the lesson's, with FastL2 on the embeddings, built from a fixed seed. */
function smallModel(): tf.LayersModel {
  const user = tf.input({ shape: [1], dtype: "int32" });
  const movie = tf.input({ shape: [1], dtype: "int32" });
  const embed = (x: tf.SymbolicTensor, rows: number, seed: number) =>
    tf.layers.flatten().apply(
      tf.layers
        .embedding({
          inputDim: rows,
          outputDim: 7,
          embeddingsInitializer: tf.initializers.randomUniform({
            minval: -0.5,
            maxval: 0.5,
            seed,
          }),
          embeddingsRegularizer: fastL2(1e-2),
        })
        .apply(x),
    ) as tf.SymbolicTensor;
  const joined = tf.layers
    .concatenate()
    .apply([embed(user, 13, 1), embed(movie, 29, 2)]) as tf.SymbolicTensor;
  const hidden = tf.layers
    .dense({
      units: 5,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    })
    .apply(joined) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })
    .apply(hidden) as tf.SymbolicTensor;
  return tf.model({ inputs: [user, movie], outputs: out });
}

/** Weights after 3 epochs, then the loss model.fit reported for each epoch (MSE plus the L2 penalties). */
async function trainSmall(optimizer: tf.Optimizer): Promise<Float32Array[]> {
  const model = smallModel();
  model.compile({ optimizer, loss: "meanSquaredError" });
  const n = 96;
  const u = tf.tensor2d(
    Int32Array.from({ length: n }, (_, i) => (i * 5) % 13),
    [n, 1],
    "int32",
  );
  const m = tf.tensor2d(
    Int32Array.from({ length: n }, (_, i) => (i * 11) % 29),
    [n, 1],
    "int32",
  );
  const y = tf.tensor2d(
    Float32Array.from({ length: n }, (_, i) => ((i * 7) % 9) / 2),
    [n, 1],
  );
  const history = await model.fit([u, m], y, {
    batchSize: 8,
    epochs: 3,
    shuffle: false,
    verbose: 0,
  });
  const weights = [
    ...model.getWeights().map((w) => Float32Array.from(w.dataSync())),
    Float32Array.from(history.history.loss as number[]),
  ];
  tf.dispose([u, m, y]);
  model.dispose();
  return weights;
}

describe("SIMD module on the wasm heap", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const kernels = simdKernels(memory)!;
  const heap = new Float32Array(memory.buffer);

  it("assembles, validates and runs", () => {
    expect(kernels).not.toBeNull();
    heap.set([1, 2, 3, 4, 5, 6, 7, 8], 4);
    expect(kernels.sumSquares(16, 8)).toBe(204);
    expect(kernels.sumSquares(16, 4)).toBe(30);
  });

  it("zero clears exactly the bytes asked for, on plain and shared memory", () => {
    for (const mem of [
      memory,
      new WebAssembly.Memory({
        initial: 1,
        maximum: 16,
        shared: true,
      } as WebAssembly.MemoryDescriptor),
    ]) {
      const k = simdKernels(mem)!;
      const values = new Float32Array(mem.buffer, 0, 16);
      values.fill(9);
      k.zero(4 * 3, 4 * 5);
      expect(Array.from(values)).toEqual([9, 9, 9, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9]);
    }
  });
  it("adam and adamL2 flush what would become subnormal to +0, as adamStep does, and keep NaN", () => {
    const f = Math.fround;
    // lanes: a weight below TINY_WEIGHT; a first moment decaying below TINY_MOMENT; a gradient too small to square;
    // NaN; two ordinary values; a weight exactly at TINY_WEIGHT (kept); a second moment decaying below TINY_MOMENT
    const x0 = [1e-19, 0.5, 0.5, NaN, 0.3, -1.2, TINY_WEIGHT, 0.7];
    const g0 = [0, 0, 1e-17, 1, 0.2, -0.05, 0, 0];
    const m0 = [0, 1e-29, 0, 0, 0.01, 0.02, 0, 0.1];
    const v0 = [1e-6, 1e-6, 0, 0, 0.04, 0.001, 1, 1e-29];
    const attrs = {
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      correction1: f(1 - 0.9 ** 3),
      correction2: f(1 - 0.999 ** 3),
    };
    const constants = [
      0.9,
      0.999,
      f(1 - 0.9),
      f(1 - 0.999),
      f(1 / attrs.correction1),
      f(1 / attrs.correction2),
      1e-7,
      -0.01,
    ] as const;
    for (const l2 of [0, 2e-4]) {
      const [x, g, m, v] = [x0, g0, m0, v0].map((a, i) => {
        const view = heap.subarray(64 + 16 * i, 64 + 16 * i + 8);
        view.set(a);
        return view;
      });
      const js = [new Float32Array(8), new Float32Array(8), new Float32Array(8)] as [
        Float32Array,
        Float32Array,
        Float32Array,
      ];
      adamStep(
        Float32Array.from(x0),
        Float32Array.from(g0),
        Float32Array.from(m0),
        Float32Array.from(v0),
        js,
        { ...attrs, l2 },
      );
      if (l2)
        kernels.adamL2(x.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, 8, ...constants, l2);
      else kernels.adam(x.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, 8, ...constants);
      // The same float32 operations: bit for bit (NaN compares equal to NaN in toEqual).
      expect(Array.from(x)).toEqual(Array.from(js[0]));
      expect(Array.from(m)).toEqual(Array.from(js[1]));
      expect(Array.from(v)).toEqual(Array.from(js[2]));
      expect(Object.is(x[0], 0)).toBe(true);
      expect(Number.isNaN(x[3])).toBe(true);
      expect(x[4]).not.toBe(x0[4]);
      if (l2) {
        expect(m[0]).toBeGreaterThan(0); // the penalty's gradient of the tiny weight still reaches its moment
        continue;
      }
      expect(m[1]).toBe(0);
      expect(v[2]).toBe(0);
      expect(m[2]).toBe(f(f(1e-17) * constants[2])); // the tiny gradient still reaches the first moment
      expect(x[6]).toBe(TINY_WEIGHT);
      expect(v[7]).toBe(0);
      expect(TINY_MOMENT).toBeLessThan(TINY_SQUARED_GRADIENT);
    }
  });
});

describe("fast wasm kernels match the reference kernels", () => {
  beforeEach(async () => {
    await initBackend("wasm");
  });

  it("dense fused Adam: tf.train.adam's weights and moments over many steps, odd sizes, a Dense layer and shared memory", async () => {
    const shapes = [[37, 5], [13, 1], [4], [3, 3]];
    const starts = shapes.map((s, i) => tf.randomNormal(s, 0, 1, "float32", 10 + i));
    const x = tf.randomNormal([6, 3], 0, 1, "float32", 20);
    const c = tf.randomNormal([6, 5], 0, 1, "float32", 21);
    const ids = tf.tensor1d([3, 36, 3, 0, 11, 20], "int32");
    const run = (opt: tf.Optimizer, shareAt: number) => {
      const vars = starts.map((s) => tf.variable(s.clone()));
      let snapshot: tf.Tensor | null = null;
      let snapshotValues: Float32Array | null = null;
      for (let step = 0; step < 8; step++) {
        if (step === shareAt) {
          snapshot = vars[0].clone(); // shares the weights' memory: the step must not write into it
          snapshotValues = Float32Array.from(snapshot.dataSync());
        }
        opt.minimize(
          () => {
            const dense = tf.sum(tf.square(tf.matMul(x, vars[3]))); // XNNPACK caches packed weights by tensor id
            const embedding = tf.sum(tf.mul(tf.gather(vars[0], ids), c));
            return tf.div(
              tf.addN([dense, embedding, tf.sum(vars[1]), tf.sum(tf.square(vars[2]))]),
              100,
            ) as tf.Scalar;
          },
          false,
          vars,
        );
      }
      expect(maxDiff(snapshot!.dataSync(), snapshotValues!)).toBe(0);
      const out = vars.map((v) => Float32Array.from(v.dataSync()));
      tf.dispose([...vars, snapshot!]);
      return out;
    };
    const fused = run(new FusedAdamOptimizer(0.05), 4);
    const reference = run(tf.train.adam(0.05), 4);
    fused.forEach((w, i) => expect(maxDiff(w, reference[i])).toBeLessThanOrEqual(1e-6));
    const other = run(tf.train.adam(0.02), 4);
    expect(maxDiff(fused[0], other[0])).toBeGreaterThan(1e-3); // the comparison can fail
  });

  it("a weight large enough to be split with the helper thread: tf.train.adam's weights, folded L2 included", async () => {
    const { wasmMemoryOf } = await import("../lib/engine/wasm-simd");
    const { simdHelperFor, SPLIT_MIN } = await import("../lib/engine/simd-helper");
    const { l2Penalty } = await import("../lib/engine/fused-l2");
    const { stepPending } = await import("../lib/engine/deferred-step");
    const memory = wasmMemoryOf(tf.backend())!;
    const shared = memory.buffer instanceof SharedArrayBuffer;
    const helper = simdHelperFor(memory);
    if (shared && os.cpus().length > 1 && process.env.LESSON4_SIMD_HELPER !== "0")
      expect(helper).not.toBeNull(); // the split below really runs
    // Count the helper's folded-L2 starts: such a step is split, and finished before the step returns.
    let l2Starts = 0;
    const start0 = helper?.start;
    if (helper)
      helper.start = (...args: Parameters<typeof helper.start>) => {
        if (args[7]) l2Starts++;
        start0!.apply(helper, args);
      };
    const rows = Math.ceil((SPLIT_MIN + 4099) / 7); // past the split threshold, with a tail that is not a multiple of 4
    const start = tf.randomNormal([rows, 7], 0, 1, "float32", 30);
    const target = tf.randomNormal([rows, 7], 0, 1, "float32", 31);
    const run = (opt: tf.Optimizer) => {
      const w = tf.variable(start.clone());
      // createAdam's optimizer folds the penalty's gradient into its step; tf.train.adam gets it from the tape
      for (let step = 0; step < 5; step++) {
        opt.minimize(
          () => tf.add(tf.mean(tf.square(tf.sub(w, target))), l2Penalty(w, 1e-3)) as tf.Scalar,
          false,
          [w],
        );
        expect(stepPending()).toBe(false);
      }
      const out = Float32Array.from(w.dataSync());
      w.dispose();
      return out;
    };
    try {
      const reference = run(tf.train.adam(0.01));
      const fused = run(createAdam(0.01));
      expect(maxDiff(fused, reference)).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(fused, start.dataSync())).toBeGreaterThan(1e-3); // it trained
      if (helper) expect(l2Starts).toBe(5);
    } finally {
      if (helper) helper.start = start0!;
    }
  });

  it("two weights large enough to be split with the helper thread in one step: tf.train.adam's weights", async () => {
    const { wasmMemoryOf } = await import("../lib/engine/wasm-simd");
    const { simdHelperFor, SPLIT_MIN } = await import("../lib/engine/simd-helper");
    const memory = wasmMemoryOf(tf.backend())!;
    const shared = memory.buffer instanceof SharedArrayBuffer;
    if (shared && os.cpus().length > 1 && process.env.LESSON4_SIMD_HELPER !== "0")
      expect(simdHelperFor(memory)).not.toBeNull(); // the splits below really run
    const rows = Math.ceil((SPLIT_MIN + 12) / 7);
    const starts = [40, 41].map((seed) => tf.randomNormal([rows, 7], 0, 1, "float32", seed));
    const target = tf.randomNormal([rows, 7], 0, 1, "float32", 42);
    const run = (opt: tf.Optimizer) => {
      const ws = starts.map((t) => tf.variable(t.clone()));
      // no L2, so each weight's step is split with the helper thread and left to finish there
      const loss = () =>
        tf.add(
          tf.mean(tf.square(tf.sub(ws[0], target))),
          tf.mean(tf.square(tf.add(ws[1], target))),
        ) as tf.Scalar;
      for (let step = 0; step < 4; step++) opt.minimize(loss, false, ws);
      const out = ws.map((w) => Float32Array.from(w.dataSync()));
      tf.dispose(ws);
      return out;
    };
    const reference = run(tf.train.adam(0.01));
    const fused = run(createAdam(0.01));
    fused.forEach((w, i) => expect(maxDiff(w, reference[i])).toBeLessThanOrEqual(1e-5));
    expect(maxDiff(fused[1], starts[1].dataSync())).toBeGreaterThan(1e-3); // it trained
    tf.dispose([...starts, target]);
  });

  it("a split step left to finish on the helper thread: every way of touching the weight waits for it and sees the finished values", async () => {
    const { wasmMemoryOf } = await import("../lib/engine/wasm-simd");
    const { simdHelperFor, SPLIT_MIN } = await import("../lib/engine/simd-helper");
    const { stepPending } = await import("../lib/engine/deferred-step");
    if (!simdHelperFor(wasmMemoryOf(tf.backend())!)) return; // no helper thread here (plain build or one CPU): nothing is deferred
    const rows = Math.ceil((SPLIT_MIN + 4096) / 5);
    const start = tf.randomNormal([rows, 5], 0, 1, "float32", 40);
    const ids = tf.tensor1d([0, 7, rows - 1], "int32");
    const uses: Record<string, (w: tf.Variable) => Float32Array> = {
      dataSync: (w) => Float32Array.from(w.dataSync()),
      "a kernel on a reshape": (w) =>
        tf.tidy(() => Float32Array.from(tf.sum(w.reshape([-1, 1]), 0).dataSync())),
      gather: (w) => tf.tidy(() => Float32Array.from(tf.gather(w, ids).dataSync())),
      "a clone, then the weight disposed": (w) => {
        const copy = w.clone();
        w.dispose();
        const values = Float32Array.from(copy.dataSync());
        copy.dispose();
        return values;
      },
      "the L2 penalty": (w) =>
        tf.tidy(() =>
          Float32Array.of(withFoldedL2(new Map(), () => l2Penalty(w, 0.5)).dataSync()[0]),
        ),
    };
    const afterSteps = (defer: boolean, use: (w: tf.Variable) => Float32Array) => {
      process.env.LESSON4_DEFER_STEP = defer ? "1" : "0";
      try {
        const init = start.clone();
        const w = tf.variable(init);
        init.dispose(); // the variable alone holds its memory, so the step runs in place
        const opt = createAdam(0.01);
        for (let s = 0; s < 3; s++)
          opt.minimize(
            // No L2 in the loss: a step with a folded L2 is split but not deferred (fused-adam.ts says why).
            () => tf.sum(tf.gather(w, ids)) as tf.Scalar,
            false,
            [w],
          );
        expect(stepPending()).toBe(defer);
        const values = use(w);
        expect(stepPending()).toBe(false);
        if (!w.isDisposed) w.dispose();
        opt.dispose();
        return values;
      } finally {
        delete process.env.LESSON4_DEFER_STEP;
      }
    };
    const before = tf.memory().numTensors;
    for (const [name, use] of Object.entries(uses)) {
      const deferred = afterSteps(true, use);
      const synchronous = afterSteps(false, use);
      expect(maxDiff(deferred, synchronous), name).toBe(0);
    }
    expect(tf.memory().numTensors).toBe(before); // the gradients kept for the helper were released
    expect(maxDiff(afterSteps(true, uses.dataSync), start.dataSync())).toBeGreaterThan(1e-3); // it trained
  });

  it("model.fit with createAdam (folded L2, in-place SIMD step) gives tf.train.adam's weights", async () => {
    const reference = await trainSmall(tf.train.adam(0.01));
    const fast = await trainSmall(createAdam(0.01));
    expect(fast.length).toBe(reference.length);
    fast.forEach((w, i) => expect(maxDiff(w, reference[i])).toBeLessThanOrEqual(1e-5)); // the last entry: the losses, penalties included
    const slower = await trainSmall(tf.train.adam(0.003));
    expect(maxDiff(fast[0], slower[0])).toBeGreaterThan(1e-3);
  });

  it("folded L2: same penalty value, gradient left to the optimizer, and only inside withFoldedL2", () => {
    const w = tf.variable(tf.randomNormal([33, 3], 0, 1, "float32", 3));
    const reference = tf.regularizers.l2({ l2: 1e-3 }).apply(w).dataSync()[0];
    const sink = new Map<string, number>();
    const folded = withFoldedL2(sink, () =>
      tf.variableGrads(() => tf.add(l2Penalty(w, 1e-3), tf.sum(w)) as tf.Scalar, [w]),
    );
    expect(
      Math.abs(withFoldedL2(new Map(), () => l2Penalty(w, 1e-3)).dataSync()[0] - reference),
    ).toBeLessThanOrEqual(1e-6 * reference);
    expect(sink.get(w.name)).toBe(Math.fround(2e-3));
    expect(Array.from(folded.grads[w.name].dataSync()).every((g) => g === 1)).toBe(true); // only sum(w)'s gradient
    const plain = tf.variableGrads(() => tf.add(l2Penalty(w, 1e-3), tf.sum(w)) as tf.Scalar, [w]);
    expect(plain.grads[w.name].dataSync()[0]).toBeCloseTo(1 + 2e-3 * w.dataSync()[0], 6);
    w.dispose();
  });

  it("the L2 penalty after an in-place step (its sum of squares kept from the step's own pass) equals a fresh one", () => {
    const w = tf.variable(tf.randomNormal([37, 5], 0, 1, "float32", 50));
    const ids = tf.tensor1d([1, 30, 30, 2], "int32");
    const opt = createAdam(0.05);
    for (let s = 0; s < 3; s++)
      opt.minimize(() => tf.add(l2Penalty(w, 0.1), tf.sum(tf.gather(w, ids))) as tf.Scalar, false, [
        w,
      ]);
    expect(sumSquaresCache.has(w.dataId as object)).toBe(true);
    const kept = withFoldedL2(new Map(), () => l2Penalty(w, 0.1)).dataSync()[0];
    const fresh = 0.1 * Array.from(w.dataSync()).reduce((sum, x) => sum + x * x, 0);
    expect(Math.abs(kept - fresh)).toBeLessThanOrEqual(1e-6 * fresh);
    w.dispose();
  });

  it("GatherV2 whose output grows the wasm heap still writes every row (a view taken before the allocation would be detached)", async () => {
    await initBackend("wasm");
    const heap = () =>
      (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const before = heap();
    const rowLength = 4096;
    const rowsNeeded = Math.ceil(before / 4 / rowLength) + 16; // an output larger than the whole heap is now
    const x = tf.tensor2d(
      Float32Array.from({ length: 3 * rowLength }, (_, i) => i),
      [3, rowLength],
    );
    const ids = tf.tensor1d(
      Int32Array.from({ length: rowsNeeded }, (_, i) => (i * 7) % 3),
      "int32",
    );
    const out = tf.gather(x, ids);
    expect(heap()).toBeGreaterThan(before);
    const values = out.dataSync();
    for (let r = 0; r < rowsNeeded; r += 97) {
      const from = ((r * 7) % 3) * rowLength;
      expect([values[r * rowLength], values[r * rowLength + rowLength - 1]]).toEqual([
        from,
        from + rowLength - 1,
      ]);
    }
    tf.dispose([x, ids, out]);
  });

  it("GatherV2: values as the cpu backend's for axes 0 and 1, rank 3, int32, and the same range error", async () => {
    const cases: Array<() => tf.Tensor> = [
      () =>
        tf.gather(
          tf.tensor2d([
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ]),
          tf.tensor1d([2, 0, 2], "int32"),
        ),
      () =>
        tf.gather(
          tf.tensor2d([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          tf.tensor1d([2, 1], "int32"),
          1,
        ),
      () =>
        tf.gather(
          tf.range(0, 24).reshape([2, 3, 4]),
          tf.tensor2d(
            [
              [1, 0],
              [2, 2],
            ],
            [2, 2],
            "int32",
          ),
          1,
        ),
      () =>
        tf.gather(
          tf.tensor2d([[1], [2], [3]], [3, 1], "int32"),
          tf.tensor2d([[2], [1]], [2, 1], "int32"),
        ),
    ];
    for (const c of cases) {
      const [cpu] = await valuesOn("cpu", c);
      const [wasm] = await valuesOn("wasm", c);
      expect(Array.from(wasm)).toEqual(Array.from(cpu));
    }
    expect(() => tf.gather(tf.tensor2d([[1, 2]]), tf.tensor1d([1], "int32"))).toThrow(
      /index value 1 is not in \[0, 0\]/,
    );
  });

  it("BatchMatMul with transposes and batches: values as the cpu backend's, also its gradient", async () => {
    const a = () => tf.randomNormal([2, 7, 5], 0, 1, "float32", 31);
    const b = () => tf.randomNormal([2, 5, 6], 0, 1, "float32", 32);
    const cases: Array<() => tf.Tensor | tf.Tensor[]> = [
      () => tf.matMul(a(), b()), // batch 2
      () =>
        tf.matMul(
          tf.randomNormal([5, 9], 0, 1, "float32", 33),
          tf.randomNormal([5, 3], 0, 1, "float32", 34),
          true,
          false,
        ),
      () =>
        tf.matMul(
          tf.randomNormal([9, 5], 0, 1, "float32", 35),
          tf.randomNormal([6, 5], 0, 1, "float32", 36),
          false,
          true,
        ),
      () =>
        tf.matMul(
          tf.randomNormal([5, 9], 0, 1, "float32", 37),
          tf.randomNormal([8, 5], 0, 1, "float32", 38),
          true,
          true,
        ),
      () =>
        tf.matMul(
          tf.randomNormal([1, 4, 3], 0, 1, "float32", 39),
          tf.randomNormal([3, 3, 1], 0, 1, "float32", 40),
        ), // broadcast batch, n = 1
      // the nn model's Dense backward pass: 16-wide blocks, a 4-wide one and a 2-column tail (n = 70); 16-wide and 4-wide (n = 100)
      () =>
        tf.matMul(
          tf.randomNormal([64, 100], 0, 1, "float32", 43),
          tf.randomNormal([64, 70], 0, 1, "float32", 44),
          true,
          false,
        ),
      () =>
        tf.matMul(
          tf.randomNormal([64, 70], 0, 1, "float32", 45),
          tf.randomNormal([100, 70], 0, 1, "float32", 46),
          false,
          true,
        ),
      () => {
        const w = tf.randomNormal([5, 6], 0, 1, "float32", 41);
        const x = tf.randomNormal([7, 5], 0, 1, "float32", 42);
        return tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.matMul(xx, ww))))([
          x,
          w,
        ]);
      },
    ];
    for (const c of cases) {
      const cpu = await valuesOn("cpu", c);
      const wasm = await valuesOn("wasm", c);
      cpu.forEach((v, i) => expect(maxDiff(wasm[i], v)).toBeLessThanOrEqual(1e-5));
    }
  });

  it("a plain product with a weight the fused Adam just rewrote runs in the SIMD loop (no XNNPACK repacking), with XNNPACK's values, once per rewrite", async () => {
    const { rewrittenInPlace } = await import("../lib/engine/wasm-kernels");
    const init = tf.randomNormal([300, 40], 0, 1, "float32", 61);
    const w = tf.variable(init);
    init.dispose();
    const x = tf.randomNormal([8, 300], 0, 1, "float32", 62);
    const opt = createAdam(0.01);
    opt.minimize(() => tf.sum(tf.square(tf.matMul(x, w))) as tf.Scalar, false, [w]);
    expect(rewrittenInPlace.has(w.dataId as object)).toBe(true); // the step ran in place
    const profile = await tf.profile(() => tf.matMul(x, w));
    const viaSimd = profile.result as tf.Tensor;
    expect(rewrittenInPlace.has(w.dataId as object)).toBe(false); // consumed: the next product goes to XNNPACK
    const viaXnnpack = tf.matMul(x, w);
    const [xv, wv] = [x.dataSync(), w.dataSync()];
    const exact = Float32Array.from({ length: 8 * 40 }, (_, o) => {
      let sum = 0;
      for (let p = 0; p < 300; p++) sum += xv[Math.floor(o / 40) * 300 + p] * wv[p * 40 + (o % 40)];
      return sum;
    });
    expect(maxDiff(viaSimd.dataSync(), viaXnnpack.dataSync())).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(viaSimd.dataSync(), exact)).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(viaSimd.dataSync(), new Float32Array(exact.length))).toBeGreaterThan(1); // not all zeros
    tf.dispose([w, x, viaSimd, viaXnnpack]);
    opt.dispose();
  });

  it("a product large enough to share its rows with the helper thread: every output the in-order float32 sum", async () => {
    const { wasmMemoryOf } = await import("../lib/engine/wasm-simd");
    const { simdHelperFor } = await import("../lib/engine/simd-helper");
    const memory = wasmMemoryOf(tf.backend())!;
    const helper = simdHelperFor(memory);
    const shared = memory.buffer instanceof SharedArrayBuffer;
    if (shared && os.cpus().length > 1 && process.env.LESSON4_SIMD_HELPER !== "0")
      expect(helper).not.toBeNull(); // the split below really runs
    let splits = 0;
    const start = helper?.startMatMul.bind(helper);
    if (helper && start) helper.startMatMul = (args) => (splits++, start(args));
    try {
      // a batch of 2 (so the SIMD loop, not XNNPACK): 41 rows, an odd number; 198 columns, a 4-wide
      // tail of 2; 2 x 41 x 300 x 198 multiply-adds, past the split threshold
      const [m, k, n] = [41, 300, 198];
      const a = tf.randomNormal([2, m, k], 0, 1, "float32", 71);
      const b = tf.randomNormal([2, k, n], 0, 1, "float32", 72);
      const c = tf.matMul(a, b);
      const [av, bv, cv] = [a.dataSync(), b.dataSync(), c.dataSync()];
      const f = Math.fround;
      let wrong = -1;
      for (let o = 0; o < cv.length && wrong < 0; o++) {
        const [q, i, j] = [Math.floor(o / (m * n)), Math.floor(o / n) % m, o % n];
        let sum = 0;
        for (let p = 0; p < k; p++)
          sum = f(sum + f(av[q * m * k + i * k + p] * bv[q * k * n + p * n + j]));
        if (!Object.is(sum, cv[o])) wrong = o;
      }
      expect(wrong).toBe(-1);
      if (helper) expect(splits).toBe(2); // one split per product of the batch
      tf.dispose([a, b, c]);
    } finally {
      if (helper && start) helper.startMatMul = start;
    }
  });

  it("large BatchMatMul with a transposed operand (a big Dense layer's backward pass): values and gradients as the cpu backend's, no leaked tensors", async () => {
    // 300 x 600 and 600 x 200 floats: past the SIMD loop's 512 KiB, so the transpose-then-XNNPACK path runs
    const big = (shape: [number, number], seed: number) =>
      tf.randomNormal(shape, 0, 1, "float32", seed);
    const cases: Array<() => tf.Tensor | tf.Tensor[]> = [
      () => tf.matMul(big([600, 300], 51), big([600, 200], 52), true, false),
      // a feature head's weight gradient x^T·dy, batch 32: in the SIMD loop, rows shared with the helper
      () => tf.matMul(big([32, 3001], 63), big([32, 130], 64), true, false),
      () => tf.matMul(big([300, 600], 53), big([200, 600], 54), false, true),
      () => tf.matMul(big([600, 300], 55), big([200, 600], 56), true, true),
      () => tf.matMul(big([600, 300], 57).reshape([1, 600, 300]), big([600, 200], 58), true, false),
      () =>
        tf.matMul(big([32, 600], 61), big([3000, 600], 62).reshape([1, 3000, 600]), false, true), // computed as (B·A^T)^T
      () => {
        const w = big([600, 200], 59);
        const x = big([32, 600], 60);
        return tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.matMul(xx, ww))))([
          x,
          w,
        ]);
      },
    ];
    for (const c of cases) {
      const cpu = await valuesOn("cpu", c);
      await initBackend("wasm");
      const before = tf.engine().backend.numDataIds();
      const wasm = await valuesOn("wasm", c);
      expect(tf.engine().backend.numDataIds()).toBe(before);
      cpu.forEach((v, i) =>
        expect(
          maxDiff(wasm[i], v) / v.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
        ).toBeLessThanOrEqual(1e-5),
      );
    }
  });

  it("Identity and no-op Transpose share memory; values stay right after the original is disposed", async () => {
    const a = tf.tensor2d([[1, 2, 3]]);
    const copy = tf.clone(a);
    const t = tf.transpose(a, [1, 0]); // [1,3] -> [3,1]: a relabelling
    a.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    expect(t.shape).toEqual([3, 1]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([copy, t]);
    const real = () => tf.transpose(tf.range(0, 24).reshape([2, 1, 3, 4]), [2, 1, 0, 3]);
    const [cpu] = await valuesOn("cpu", real);
    const [wasm] = await valuesOn("wasm", real);
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
  });
});
