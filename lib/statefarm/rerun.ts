/**
 * Re-running notebook 04's cells without leaving tensors behind: a classifier is disposed once,
 * a labelled set with both its tensors, and the loaded MobileNet is reused (it never
 * changes), each kept under a name with lib/engine/rerun's `keep`.
 */
import type * as tf from "@tensorflow/tfjs";
import { keep } from "../engine/rerun";
import type { LabelledSet } from "./train";

interface Disposable {
  dispose(): void;
}

// Symbol.for and globalThis: notebooks may load lib both as ./lib and through its real path.
const DISPOSED = Symbol.for("lesson4-ts.statefarm-classifier-disposed");
const HANDLE = Symbol.for("lesson4-ts.statefarm-rerun-handle");
const REUSED = Symbol.for("lesson4-ts.statefarm-reused");

type Marked = Record<symbol, unknown>;

/**
 * Disposes `model` (compileClassifier's models free their optimizer with it) unless that was
 * done already: tfjs throws on a second dispose, and a cell may have disposed it itself.
 */
export function disposeClassifier(model: tf.LayersModel): void {
  const marked = model as unknown as Marked;
  const refCount = (model as unknown as { _refCount?: number })._refCount;
  if (marked[DISPOSED] || refCount === 0) return;
  marked[DISPOSED] = true;
  model.dispose();
}

/** One handle per value, so keeping the same value under its name again does not dispose it. */
function handleOf<T extends object>(value: T, dispose: (value: T) => void): Disposable {
  const marked = value as unknown as Marked;
  marked[HANDLE] ??= { dispose: () => dispose(value) };
  return marked[HANDLE] as Disposable;
}

/** `keep` for a classifier: an earlier run's model under `name` is disposed with its optimizer. */
export function keepClassifier<M extends tf.LayersModel>(name: string, model: M): M {
  keep(name, handleOf(model, disposeClassifier));
  return model;
}

/** `keep` for a labelled set: an earlier run's set under `name` has its images and labels freed. */
export function keepSet<S extends LabelledSet>(name: string, set: S): S {
  // Tensor.dispose() does nothing the second time, so a set the cell already freed is fine.
  keep(
    name,
    handleOf(set, (s) => [s.x, s.y].forEach((t) => t.dispose())),
  );
  return set;
}

/**
 * What `make()` resolved to the first time under `name`, for things a re-run need not make again
 * (a loaded pretrained model). A failed `make()` is not remembered, so a re-run tries again.
 */
export async function reuse<T>(name: string, make: () => Promise<T>): Promise<T> {
  const store = globalThis as unknown as Marked;
  const made = (store[REUSED] ??= new Map<string, unknown>()) as Map<string, unknown>;
  if (made.has(name)) return made.get(name) as T;
  const value = await make();
  made.set(name, value);
  return value;
}
