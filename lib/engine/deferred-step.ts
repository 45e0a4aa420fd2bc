/**
 * Lets the helper thread finish a large weight's Adam step while training goes on: model.fit's bookkeeping, the next
 * batch's slicing and the first layers of its forward pass run meanwhile, and whatever next touches the weight (a
 * kernel taking it as an input, a read, a dispose) first waits for the step. A tensor's clones and reshapes share its
 * dataId on wasm, so watching the dataIds of the weight and its moments catches every use.
 */
import * as tf from "@tensorflow/tfjs";

/** A step still running: the dataIds it writes, and what waits for it and files its results. */
export interface PendingStep {
  writes: readonly unknown[];
  finish(): void;
}

let pending: PendingStep | null = null;

/** Whether a step is still running on the helper thread (for tests). */
export function stepPending(): boolean {
  return pending !== null;
}

/** Waits for the pending step, if any (an error from the helper thread is thrown here). */
export function finishPendingStep(): void {
  const step = pending;
  if (!step) return;
  pending = null;
  step.finish();
}

/** Waits for the pending step if it writes any of these dataIds. */
export function finishStepWriting(...ids: unknown[]): void {
  if (touchesPending(ids)) finishPendingStep();
}

function touchesPending(ids: Iterable<unknown>): boolean {
  if (!pending) return false;
  for (const id of ids) if (pending.writes.includes(id)) return true;
  return false;
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

const watched = new WeakSet<object>();

/** Wraps the engine's kernel entry and the backend's reads and disposals so that they wait for a pending step they touch. */
function watch(backend: object): void {
  const engine = tf.engine() as unknown as { runKernelFunc(params: { inputs?: unknown }): unknown };
  if (!watched.has(engine)) {
    watched.add(engine);
    const runKernelFunc = engine.runKernelFunc;
    engine.runKernelFunc = function (params) {
      if (pending && touchesPending(inputIds(params.inputs))) finishPendingStep();
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
        if (pending && pending.writes.includes(dataId)) finishPendingStep();
        return original.call(this, dataId, ...rest);
      };
    }
  }
}

/** Records a step running on `backend`'s helper thread; the previous pending step, if any, is finished first. */
export function deferStep(backend: object, step: PendingStep): void {
  finishPendingStep();
  watch(backend);
  pending = step;
}
