/**
 * Notebook cells get run again (a learner changes a number and presses Shift-Enter): what a cell
 * made last time under a name is disposed when it makes it anew, so re-runs neither leak tensors
 * nor clash with tfjs's registry of variable names.
 */
import * as tf from "@tensorflow/tfjs";

interface Disposable {
  dispose(): void;
}

// On globalThis: notebooks may load lib both as ./lib and through its real path.
const KEY = Symbol.for("lesson4-ts.rerun-registry");
const registry: Map<string, Disposable> = ((globalThis as Record<symbol, unknown>)[KEY] ??=
  new Map()) as Map<string, Disposable>;

function release(name: string): void {
  const before = registry.get(name);
  registry.delete(name);
  if (before && !(before instanceof tf.Tensor && before.isDisposed)) before.dispose();
}

/** Keeps `value` under `name`, disposing what `name` held before (tensor, model, optimizer...). */
export function keep<T extends Disposable>(name: string, value: T): T {
  if (registry.get(name) !== value) release(name);
  registry.set(name, value);
  return value;
}

/**
 * `tf.variable(initial, trainable, name)`, after disposing the variable an earlier run named so.
 * Takes `initial` over: it is disposed once the variable holds its values.
 */
export function cellVariable(name: string, initial: tf.Tensor, trainable = true): tf.Variable {
  release(name);
  const variable = keep(name, tf.variable(initial, trainable, name));
  initial.dispose();
  return variable;
}
