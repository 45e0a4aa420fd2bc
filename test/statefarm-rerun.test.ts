import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import { convModel } from "../lib/statefarm/models";
import { compileClassifier, trainClassifier } from "../lib/statefarm/train";
import { disposeClassifier, keepClassifier, keepSet, reuse } from "../lib/statefarm/rerun";

beforeAll(async () => {
  await initBackend("wasm");
});

function tinySet(n: number) {
  const labels = Array.from({ length: n }, (_, i) => i % 10);
  const y = tf.tidy(() => tf.oneHot(labels, 10).toFloat() as tf.Tensor2D);
  return { x: tf.fill([n, 20, 20, 3], 100), y, labels };
}

const trained = async () => {
  const set = tinySet(16);
  const tiny = convModel([20, 20, 3], { filters: [2, 2], dense: 4, seed: 1 });
  const model = compileClassifier(tiny, 1e-3);
  await trainClassifier(model, set, set, { epochs: 1, batchSize: 8, seed: 1, title: false });
  tf.dispose([set.x, set.y]);
  return model;
};

describe("re-running notebook 04's cells (lib/statefarm/rerun)", () => {
  it("a compiled classifier's dispose frees its optimizer's state too; disposeClassifier twice is fine", async () => {
    const before = tf.memory().numTensors;
    const model = await trained();
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => disposeClassifier(model)).not.toThrow();

    const other = await trained();
    disposeClassifier(other);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => disposeClassifier(other)).not.toThrow();
  });

  it("keepClassifier, keepSet dispose what the name held, unless it is the same", async () => {
    const before = tf.memory().numTensors;
    const first = keepClassifier("test model", await trained());
    const afterOne = tf.memory().numTensors;
    expect(keepClassifier("test model", first)).toBe(first); // the same model again: still usable
    expect(tf.memory().numTensors).toBe(afterOne);
    tf.tidy(() => {
      first.predict(tf.zeros([1, 20, 20, 3])); // throws if the model was disposed
    });
    keepClassifier("test model", await trained());
    expect(tf.memory().numTensors).toBe(afterOne); // the first model and its optimizer went
    expect(afterOne).toBeGreaterThan(before);

    const set = keepSet("test set", tinySet(4));
    const withSet = tf.memory().numTensors;
    keepSet("test set", set);
    expect(tf.memory().numTensors).toBe(withSet);
    keepSet("test set", tinySet(4));
    expect(tf.memory().numTensors).toBe(withSet);
    expect(set.x.isDisposed && set.y.isDisposed).toBe(true);
  });

  it("reuse makes a value once per name and tries again after a failure", async () => {
    let made = 0;
    const make = async () => ({ n: ++made });
    const a = await reuse("test reuse", make);
    expect(await reuse("test reuse", make)).toBe(a);
    expect(made).toBe(1);
    const failing = async (): Promise<number> => {
      throw new Error("offline");
    };
    await expect(reuse("test failing", failing)).rejects.toThrow("offline");
    expect(await reuse("test failing", async () => 7)).toBe(7);
  });
});
