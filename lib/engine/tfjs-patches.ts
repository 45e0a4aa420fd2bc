/**
 * Every place the engine reaches into tfjs (4.22) below its public API, in one module: what each patch replaces,
 * and why the public API does not do. A tfjs upgrade should start by checking these.
 *
 * 1. Threaded start (withThreadedStartPatches): URL.createObjectURL, require("os").cpus and the
 *    WASM_HAS_MULTITHREAD_SUPPORT flag, for the moment the wasm backend starts. tfjs turns threads off in Node
 *    (tensorflow/tfjs#3830) because its glue loads the pthread workers from blob: URLs, which Node's worker_threads
 *    refuses; and it sizes XNNPACK's pool as half the logical CPUs whatever setThreadsCount says.
 * 2. Restarting the wasm backend (wasmBackendFactory): the engine's registry of backend factories, so the backend
 *    can be started again with another thread count (tfjs has removeBackend but no way to read a factory back).
 * 3. Waiting for a step on the helper thread (waitBeforeTouching): the engine's runKernelFunc and the backend's
 *    readSync, read, disposeData, incRef and move, so whatever touches a weight the helper is still writing waits.
 * 4. The collaborative-filtering model's training step (replaceTrainFunction): a tfjs-layers model's
 *    makeTrainFunction, fit and fitDataset, the only hook into model.fit's per-batch function.
 * 5. A cpu backend as a helper for kernels wasm lacks (quietCpuBackend): its firstUse flag, so it does not print
 *    tfjs's "install tfjs-node" banner as if the lesson ran on cpu.
 * 6. Tensor sharing (shareData): the wasm backend's incRef, so that Identity and relabelling Transposes return the
 *    input's memory (as the cpu and webgl backends do) instead of a copy.
 */
import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

/**
 * Runs `start` (which must start the wasm backend) with the threaded build enabled for `threads` XNNPACK threads,
 * the pthread workers loaded from `workerScript` (a file; see wasm-threads.ts), and returns what it returns.
 * Everything patched is restored afterwards, whether the start worked or not.
 */
export async function withThreadedStartPatches<T>(
  threads: number,
  workerScript: string,
  start: () => Promise<T>,
): Promise<T> {
  const realCreate = URL.createObjectURL;
  // The glue calls require("os").cpus(): patch that module object (an `import * as` namespace is read-only).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const osModule: { cpus: () => ReturnType<typeof import("os").cpus> } = require("os");
  const realCpus = osModule.cpus;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  // The glue makes a Blob of the worker's source and asks for its URL: hand it the file instead.
  URL.createObjectURL = ((blob: Blob) =>
    blob?.type === "application/javascript"
      ? workerScript
      : realCreate(blob)) as typeof URL.createObjectURL;
  // The pool gets half the CPUs the glue sees, so it sees twice the threads wanted.
  osModule.cpus = () => {
    const cpus = realCpus();
    return Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  };
  try {
    const started = await start();
    unrefWorkers();
    return started;
  } finally {
    URL.createObjectURL = realCreate;
    osModule.cpus = realCpus;
  }
}

/**
 * Lets Node exit while XNNPACK's threads wait for work: the glue keeps a reference on each running pthread's worker,
 * and the thread pool's threads run (blocked, waiting) for as long as the backend lives.
 */
function unrefWorkers(): void {
  type Workers = Array<{ unref(): void }>;
  const wasm = (
    tf.backend() as unknown as {
      wasm?: { PThread?: { unusedWorkers: Workers; runningWorkers: Workers } };
    }
  ).wasm;
  const pthreads = wasm?.PThread;
  for (const worker of [...(pthreads?.unusedWorkers ?? []), ...(pthreads?.runningWorkers ?? [])])
    worker.unref();
}

/** The wasm backend's registered factory and priority, to register it again after tf.removeBackend("wasm"). */
export function wasmBackendFactory(): {
  factory: () => tf.KernelBackend | Promise<tf.KernelBackend>;
  priority: number;
} {
  type Registry = Record<
    string,
    { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number }
  >;
  return (tf.engine() as unknown as { registryFactory: Registry }).registryFactory.wasm;
}

const watched = new WeakSet<object>();

/** What waitBeforeTouching asks: whether anything is waited for (cheap, asked first), then about the dataIds. */
export interface TouchWatcher {
  active(): boolean;
  touch(dataIds: unknown[]): void;
}

/**
 * Makes the engine's kernel calls, and `backend`'s reads, disposals, reference counts and moves, first tell
 * `watcher` the dataIds they touch (kernel inputs; the one dataId of a backend call) while it is active. Once per
 * engine and backend. A tensor's clones and reshapes share its dataId on wasm, so this sees every use of a
 * tensor's memory.
 */
export function waitBeforeTouching(backend: object, watcher: TouchWatcher): void {
  const engine = tf.engine() as unknown as { runKernelFunc(params: { inputs?: unknown }): unknown };
  if (!watched.has(engine)) {
    watched.add(engine);
    const runKernelFunc = engine.runKernelFunc;
    engine.runKernelFunc = function (params) {
      if (watcher.active()) watcher.touch(inputIds(params.inputs));
      return runKernelFunc.call(this, params);
    };
  }
  if (!watched.has(backend)) {
    watched.add(backend);
    const b = backend as Record<string, (dataId: unknown, ...rest: unknown[]) => unknown>;
    for (const method of ["readSync", "read", "disposeData", "incRef", "move"]) {
      const original = b[method];
      if (typeof original !== "function") continue;
      b[method] = function (this: unknown, dataId: unknown, ...rest: unknown[]) {
        if (watcher.active()) watcher.touch([dataId]);
        return original.call(this, dataId, ...rest);
      };
    }
  }
}

function inputIds(inputs: unknown): unknown[] {
  if (!inputs || typeof inputs !== "object") return [];
  const ids: unknown[] = [];
  for (const t of Object.values(inputs as Record<string, unknown>)) {
    if (Array.isArray(t)) for (const u of t) ids.push((u as tf.TensorInfo | undefined)?.dataId);
    else ids.push((t as tf.TensorInfo | undefined)?.dataId);
  }
  return ids;
}

/** model.fit's per-batch function: [inputs..., targets, sample weights (undefined when none)] to the losses. */
export type TrainFunction = (data: tf.Tensor[]) => tf.Scalar[];

/**
 * Has `model`'s fit and fitDataset train with `make(generic)` where tfjs-layers would make its own train function
 * (`generic`, which `make` may return as it is), and call `afterFit` when each fit ends, however it ends.
 */
export function replaceTrainFunction(
  model: tf.LayersModel,
  make: (generic: TrainFunction) => TrainFunction,
  afterFit: () => void,
): void {
  const m = model as unknown as {
    makeTrainFunction(): TrainFunction;
    fit(...args: unknown[]): Promise<tf.History>;
    fitDataset(...args: unknown[]): Promise<tf.History>;
  };
  const generic = m.makeTrainFunction;
  m.makeTrainFunction = () => make(generic.call(model));
  for (const method of ["fit", "fitDataset"] as const) {
    const original = m[method];
    m[method] = async (...args: unknown[]) => {
      try {
        return await original.apply(model, args);
      } finally {
        afterFit();
      }
    };
  }
}

/** A cpu backend that runs kernels for another backend, without tfjs's "install tfjs-node" banner on first use. */
export function quietCpuBackend(): MathBackendCPU {
  const cpu = new MathBackendCPU();
  (cpu as unknown as { firstUse: boolean }).firstUse = false;
  return cpu;
}

/**
 * A kernel's output that is its input's memory: one more reference on the dataId (the backend frees the memory
 * when the last tensor on it is disposed), returned with the output's shape.
 */
export function shareData(backend: unknown, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  (backend as { incRef(dataId: unknown): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}
