import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { cellVariable, keep } from "../lib/engine/rerun";

describe("re-runnable cells (lib/engine/rerun)", () => {
  it("a named variable made again replaces the earlier one instead of failing, and leaks nothing", () => {
    const make = () => cellVariable("rerunWeights", tf.tensor2d([[1, 2]]));
    const first = make();
    const tensors = tf.memory().numTensors;
    const second = make(); // tf.variable with the same name alone throws "already registered"
    expect(first.isDisposed).toBe(true);
    expect(Array.from(second.dataSync())).toEqual([1, 2]);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(() => tf.variable(tf.scalar(0), true, "rerunWeights")).toThrow(/already registered/);
  });

  it("keep disposes what the name held before, once, and keeps the same value as it is", () => {
    const before = tf.memory().numTensors;
    const a = keep("rerunTarget", tf.ones([3]));
    expect(keep("rerunTarget", a)).toBe(a);
    expect(a.isDisposed).toBe(false);
    keep("rerunTarget", tf.zeros([3]));
    expect(a.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before + 1);
  });
});
