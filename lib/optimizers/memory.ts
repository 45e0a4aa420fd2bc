/**
 * Keeping notebook 03's cells from leaving tensors behind when they run again: a fix for tfjs's
 * momentum optimizer, a tidy for work that returns plain numbers, and saving a model (with its
 * optimizer) to memory without leaving the optimizer weights' copies alive.
 */
import * as tf from "@tensorflow/tfjs";

const FIXED = Symbol.for("lesson4-ts.momentum-dispose-fixed");

/**
 * Makes `MomentumOptimizer.dispose()` also dispose the learning-rate scalar its SGD base keeps.
 * tfjs 4.22's momentum `dispose()` frees its momentum scalar and accumulators but not that one,
 * so every `tf.train.momentum(...)` leaves one tensor behind (tensorflow/tfjs#4647). Safe to call
 * again: the prototype is patched once.
 */
export function fixMomentumDispose(): void {
  const proto = tf.MomentumOptimizer.prototype as unknown as Record<symbol, boolean> & {
    dispose(): void;
  };
  if (proto[FIXED]) return;
  const original = proto.dispose;
  proto.dispose = function (this: { c?: tf.Tensor }): void {
    original.call(this);
    // Tensor.dispose() does nothing the second time, so a disposed-twice optimizer is fine.
    this.c?.dispose();
  };
  proto[FIXED] = true;
}

/**
 * `fn()` inside `tf.tidy`, for work whose result holds no tensors (numbers, records of numbers):
 * every tensor it makes and does not keep is disposed. tf.tidy itself only types results that
 * are tensor containers.
 */
export function tidyNumbers<T>(fn: () => T): T {
  let result!: T;
  tf.tidy(() => {
    result = fn();
  });
  return result;
}

/**
 * `model.save` into memory: resolves to the artifacts `tf.io.fromMemory` loads back.
 * With `includeOptimizer`, tfjs-layers saves what `optimizer.getWeights()` returns and never
 * disposes the fresh tensors among them (the step count, and Eve's own state); they are disposed
 * here once the artifacts hold their values.
 */
export async function saveInMemory(
  model: tf.LayersModel,
  options: { includeOptimizer?: boolean } = {},
): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  const handler = tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  });
  const made: tf.Tensor[] = [];
  const optimizer = options.includeOptimizer ? model.optimizer : undefined;
  if (optimizer) {
    const getWeights = optimizer.getWeights;
    // An own property for this one save, so the class's method is untouched for everyone else.
    optimizer.getWeights = async () => {
      const weights = await getWeights.call(optimizer);
      made.push(...weights.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
      return weights;
    };
  }
  try {
    await model.save(handler, options);
  } finally {
    if (optimizer) delete (optimizer as Partial<tf.Optimizer>).getWeights;
    tf.dispose(made);
  }
  if (!saved) throw new Error("model.save finished without handing its artifacts to the handler.");
  return saved;
}
