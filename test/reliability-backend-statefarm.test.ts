/**
 * As test/reliability-backend.test.ts, for the State Farm path: in this file's fresh worker a
 * script-like run that never calls initBackend trains a classifier on the fast backend.
 */
import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { backendInfo } from "../lib/engine/backend";
import { linearModel } from "../lib/statefarm/models";
import { compileClassifier, trainClassifier, type LabelledSet } from "../lib/statefarm/train";

describe("backend chosen on first use (State Farm)", () => {
  it("trainClassifier without initBackend trains on wasm (or native TensorFlow), not cpu", async () => {
    expect(backendInfo()).toBeNull();
    const set = (n: number): LabelledSet => {
      const labels = Array.from({ length: n }, (_, i) => i % 10);
      return {
        x: tf.randomUniform([n, 8, 8, 3], 0, 255, "float32", 1),
        y: tf.oneHot(labels, 10).toFloat() as tf.Tensor2D,
        labels,
      };
    };
    const model = compileClassifier(linearModel([8, 8, 3]), 1e-3);
    const scores = await trainClassifier(model, set(20), set(10), {
      epochs: 1,
      batchSize: 10,
      title: false,
    });
    expect(["wasm", "tensorflow"]).toContain(tf.getBackend());
    expect(backendInfo()?.name).toBe(tf.getBackend());
    expect(scores).toHaveLength(1);
  });
});
