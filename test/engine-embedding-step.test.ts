import { afterEach, describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import { createAdam } from "../lib/engine/fused-adam";
import { whyGenericStep } from "../lib/engine/embedding-step";
import { stepPending } from "../lib/engine/deferred-step";
import { buildCollabModel, LAYERS, type ModelSpec } from "../lib/collab/model";

const USERS = 40;
const MOVIES = 300;

/** Ratings where a batch of 64 repeats users (40 of them) and some movies, so scattered gradients must add up. */
function ratings(n: number, seed: number) {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const u = Int32Array.from({ length: n }, () => Math.floor(next() * USERS));
  const m = Int32Array.from({ length: n }, () => Math.floor(next() * next() * MOVIES));
  const y = Float32Array.from({ length: n }, (_, i) => ((u[i] % 5) + (m[i] % 3)) / 2 + next() - 1);
  return { u, m, y };
}

/** Runs `fn` with an engine switch set, then as before. */
function withSwitch<T>(name: string, value: string, fn: () => T): T {
  const previous = process.env[name];
  process.env[name] = value;
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  }
}
const spec = (kind: ModelSpec["kind"], extra: Partial<ModelSpec> = {}): ModelSpec => ({
  kind,
  nUsers: USERS,
  nMovies: MOVIES,
  factors: 8,
  l2: 1e-3,
  biasL2: 0,
  seed: 3,
  ...extra,
});

/** Trains a fresh model for `epochs` of batch 64 (no shuffling); returns its weights and the losses model.fit reported. */
async function train(s: ModelSpec, fast: boolean, lr = 0.01, epochs = 3) {
  const previous = process.env.LESSON4_FAST_STEP;
  process.env.LESSON4_FAST_STEP = fast ? "1" : "0";
  try {
    const model = buildCollabModel(s);
    model.compile({ optimizer: createAdam(lr), loss: "meanSquaredError" });
    const generic = whyGenericStep(model);
    const { u, m, y } = ratings(640, 11);
    const x = [tf.tensor2d(u, [u.length, 1], "int32"), tf.tensor2d(m, [m.length, 1], "int32")];
    const t = tf.tensor2d(y, [y.length, 1]);
    const before = tf.memory().numTensors;
    const history = await model.fit(x, t, { batchSize: 64, epochs, shuffle: false, verbose: 0 });
    const leaked = tf.memory().numTensors - before;
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    tf.dispose([...x, t]);
    model.dispose();
    return { weights, losses: history.history.loss as number[], generic, leaked };
  } finally {
    if (previous === undefined) delete process.env.LESSON4_FAST_STEP;
    else process.env.LESSON4_FAST_STEP = previous;
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe("model.fit's one-loop step for embedding models (wasm)", () => {
  afterEach(() => expect(stepPending()).toBe(false));

  for (const kind of ["bias", "dot", "nn"] as const) {
    it(`trains the ${kind} model to tfjs-layers' weights and losses`, async () => {
      await initBackend("wasm");
      const fast = await train(spec(kind), true);
      const generic = await train(spec(kind), false);
      expect(fast.generic).toBeNull();
      expect(generic.generic).toBe("LESSON4_FAST_STEP=0");
      fast.weights.forEach((w, i) => expect(maxDiff(w, generic.weights[i])).toBeLessThan(1e-6)); // float32 rounding apart
      expect(maxDiff(fast.losses, generic.losses)).toBeLessThan(1e-5 * generic.losses[0]);
      expect(fast.losses[2]).toBeLessThan(fast.losses[0]); // it learns
      // A different learning rate moves the weights by far more than the tolerance: the comparison can fail.
      const slower = await train(spec(kind), false, 0.005);
      expect(maxDiff(slower.weights[0], generic.weights[0])).toBeGreaterThan(1e-3);
      expect(fast.leaked).toBe(generic.leaked);
    });
  }

  it("says why a model or set-up takes the generic step", async () => {
    await initBackend("wasm");
    const compiled = (
      s: ModelSpec,
      optimizer: tf.Optimizer = createAdam(0.01),
      metrics?: string[],
    ) => {
      const model = buildCollabModel(s);
      model.compile({ optimizer, loss: "meanSquaredError", metrics });
      return model;
    };
    const reasons = [
      whyGenericStep(compiled(spec("nn"), createAdam(0.01), ["mse"])),
      whyGenericStep(compiled(spec("bias", { activityL2: 0.01 }))),
      whyGenericStep(compiled(spec("dot", { centredFactors: "movies" }))),
      withSwitch("LESSON4_FUSED_L2", "0", () => whyGenericStep(compiled(spec("bias")))), // tf.regularizers.l2
      whyGenericStep(compiled(spec("bias"), createAdam(0.01, { lazy: true }))),
      whyGenericStep(compiled(spec("bias"), tf.train.sgd(0.01))),
      whyGenericStep(compiled(spec("bias"), createAdam(0.01), ["mae"])),
    ];
    expect(reasons.every((r) => typeof r === "string" && r.length > 5)).toBe(true);
    expect(reasons[3]).toMatch(/FastL2/);
    expect(reasons[6]).toMatch(/metrics/);
    await initBackend("cpu");
    expect(whyGenericStep(compiled(spec("bias")))).toMatch(/cpu/);
    await initBackend("wasm");
    expect(whyGenericStep(compiled(spec("bias")))).toBeNull();
  });

  it("rejects an index outside an embedding before changing any weight", async () => {
    await initBackend("wasm");
    const model = buildCollabModel(spec("bias"));
    model.compile({ optimizer: createAdam(0.01), loss: "meanSquaredError" });
    const before = model.getLayer(LAYERS.movieFactors).getWeights()[0].dataSync().slice();
    const u = tf.tensor2d([1, 2, 3], [3, 1], "int32");
    const m = tf.tensor2d([4, MOVIES, 5], [3, 1], "int32");
    const y = tf.tensor2d([3, 4, 5], [3, 1]);
    await expect(model.fit([u, m], y, { batchSize: 3, epochs: 1, verbose: 0 })).rejects.toThrow(
      /movie_factors has rows 0\.\.299.*looks up 300/,
    );
    expect(Array.from(model.getLayer(LAYERS.movieFactors).getWeights()[0].dataSync())).toEqual(
      Array.from(before),
    );
    tf.dispose([u, m, y]);
    model.dispose();
  });
});
