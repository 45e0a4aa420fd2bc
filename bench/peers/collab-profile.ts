/**
 * Where one training batch of the lesson's bias model goes on this engine: CPU time per batch of model.fit,
 * of the same step run by hand (forward+backward, optimizer), and per kernel. `npx tsx bench/peers/collab-profile.ts [batches]`.
 */
import { initBackend, tf } from "../../lib/engine/backend";
import { buildCollabModel } from "../../lib/collab/model";
import { createAdam } from "../../lib/engine/fused-adam";

const batches = Number(process.argv[2] ?? 400);
const BATCH = 64;
const N_USERS = 610;
const N_MOVIES = 9724;

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** Wraps every kernel registered for the backend with a CPU-time counter. */
function instrumentKernels(
  backend: string,
): Map<string, { ms: number; calls: number; floats: number }> {
  const stats = new Map<string, { ms: number; calls: number; floats: number }>();
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    (k as { kernelFunc: tf.KernelFunc }).kernelFunc = ((args: Parameters<tf.KernelFunc>[0]) => {
      const t = process.hrtime.bigint();
      try {
        return inner(args);
      } finally {
        const s = stats.get(k.kernelName) ?? { ms: 0, calls: 0, floats: 0 };
        s.ms += Number(process.hrtime.bigint() - t) / 1e6;
        s.calls++;
        for (const x of Object.values(args.inputs))
          if (x) s.floats += x.shape.reduce((a, b) => a * b, 1);
        stats.set(k.kernelName, s);
      }
    }) as tf.KernelFunc;
  }
  return stats;
}

function data(n: number) {
  const u = new Int32Array(n);
  const m = new Int32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    u[i] = (i * 7919) % N_USERS;
    m[i] = (i * 104729) % N_MOVIES;
    y[i] = ((i * 31) % 9) / 2 + 0.5;
  }
  return {
    u: tf.tensor2d(u, [n, 1], "int32"),
    m: tf.tensor2d(m, [n, 1], "int32"),
    y: tf.tensor2d(y, [n, 1]),
  };
}

async function main() {
  const info = await initBackend(process.env.LESSON4_BACKEND === "cpu" ? "cpu" : "wasm");
  const variant = process.env.PROFILE_OPT ?? "tfjs";
  const make = () => {
    const model = buildCollabModel({
      kind: (process.env.PROFILE_MODEL as "bias" | "nn") ?? "bias",
      nUsers: N_USERS,
      nMovies: N_MOVIES,
      factors: 50,
      l2: 1e-4,
      biasL2: 0,
      seed: 42,
    });
    model.compile({
      optimizer:
        variant === "tfjs" ? tf.train.adam(1e-3) : createAdam(1e-3, { lazy: variant === "lazy" }),
      loss: "meanSquaredError",
    });
    return model;
  };
  const { u, m, y } = data(batches * BATCH);
  const report = (label: string, ms: number) =>
    console.log(`${label.padEnd(46)} ${(ms / batches).toFixed(3)} ms/batch`);

  // 1. model.fit as fitCollab calls it.
  let model = make();
  await model.fit([u.slice(0, 64 * 20), m.slice(0, 64 * 20)], y.slice(0, 64 * 20), {
    batchSize: BATCH,
    epochs: 1,
    shuffle: false,
    verbose: 0,
  });
  let t = process.cpuUsage();
  let w = Date.now();
  await model.fit([u, m], y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
  report(`model.fit (${info.name}, wall ${((Date.now() - w) / batches).toFixed(3)})`, cpuMs(t));

  // 2. The same step by hand: gather slices, forward+loss+backward, optimizer.
  const opt = model.optimizer;
  const trainable = model.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
  const lossFn = (xs: tf.Tensor[], ys: tf.Tensor) => {
    const out = model.apply(xs, { training: true }) as tf.Tensor;
    let loss = tf.losses.meanSquaredError(ys, out) as tf.Scalar;
    for (const l of model.losses as unknown as Array<() => tf.Scalar>)
      loss = tf.add(loss, l()) as tf.Scalar;
    return loss;
  };
  let tSlice = 0,
    tGrad = 0,
    tOpt = 0;
  for (let b = 0; b < batches; b++) {
    let s = process.cpuUsage();
    const idx = tf.range(b * BATCH, (b + 1) * BATCH, 1, "int32");
    const xs = [tf.gather(u, idx), tf.gather(m, idx)];
    const ys = tf.gather(y, idx);
    tSlice += cpuMs(s);
    s = process.cpuUsage();
    const { value, grads } = tf.variableGrads(() => lossFn(xs, ys), trainable);
    tGrad += cpuMs(s);
    s = process.cpuUsage();
    opt.applyGradients(grads);
    tOpt += cpuMs(s);
    tf.dispose([idx, ...xs, ys, value, ...Object.values(grads)]);
  }
  report("by hand: slice inputs (gather)", tSlice);
  report("by hand: forward + loss + L2 + backward", tGrad);
  report(`by hand: optimizer (${opt.getClassName()})`, tOpt);

  // 3. Per kernel inside model.fit.
  const stats = instrumentKernels(tf.getBackend());
  t = process.cpuUsage();
  await model.fit([u, m], y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
  const total = cpuMs(t);
  let inKernels = 0;
  const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [, s] of rows) inKernels += s.ms;
  report("model.fit instrumented, total", total);
  report("  of which inside kernels", inKernels);
  for (const [name, s] of rows.slice(0, 25))
    console.log(
      `    ${name.padEnd(28)} ${(s.ms / batches).toFixed(3)} ms/batch  ${(s.calls / batches).toFixed(1)} calls/batch  ${(s.floats / batches / 1e3).toFixed(0)}k input floats/batch`,
    );
  console.log(`tensors alive: ${tf.memory().numTensors}`);
}

main();
