/**
 * Lets the helper thread finish a large weight's Adam step while training goes on: model.fit's bookkeeping, the next
 * batch's slicing and the first layers of its forward pass run meanwhile, and whatever next touches the weight (a
 * kernel taking it as an input, a read, a dispose) first waits for the step. A tensor's clones and reshapes share its
 * dataId on wasm, so watching the dataIds of the weight and its moments catches every use.
 */
import { waitBeforeTouching } from "./tfjs-patches";

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

/** Finishes the pending step before anything touches what it writes. */
const watcher = {
  active: () => pending !== null,
  touch: (ids: unknown[]) => {
    if (touchesPending(ids)) finishPendingStep();
  },
};

/** Records a step running on `backend`'s helper thread; the previous pending step, if any, is finished first. */
export function deferStep(backend: object, step: PendingStep): void {
  finishPendingStep();
  waitBeforeTouching(backend, watcher);
  pending = step;
}
