/**
 * lib picks the fast backend by itself: in this file's fresh worker nothing calls initBackend
 * before fitCollab, as in a plain script, and training still ends on wasm (or native TensorFlow
 * where installed), said once on stderr.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { fitCollab } from "../lib/collab/index";
import { generateRatings } from "../lib/datasets/movielens";
import { backendInfo, initBackend } from "../lib/engine/backend";

const isNativeInstalled = (): boolean => {
  try {
    require.resolve("tfjs-node-native");
    return true;
  } catch {
    return false;
  }
};

const ratings = generateRatings({
  users: 30,
  movies: 40,
  factors: 2,
  density: 0.3,
  seed: 2,
}).ratings;
const tiny = {
  model: "bias" as const,
  factors: 2,
  batchSize: 64,
  schedule: [{ lr: 1e-2, epochs: 1 }],
};
const stderr = vi.spyOn(process.stderr, "write");
const backendLines = () =>
  stderr.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith("lesson4: tfjs runs on"));

afterAll(() => stderr.mockRestore());

describe("backend chosen on first use", () => {
  it("fitCollab without initBackend trains on the fast backend and says so once on stderr", async () => {
    // A fresh worker: no backend chosen yet, neither by the project nor by tfjs.
    expect(backendInfo()).toBeNull();
    expect(
      (tf.engine() as unknown as { backendName?: string | null }).backendName ?? null,
    ).toBeNull();
    const expected = isNativeInstalled() ? "tensorflow" : "wasm";
    const result = await fitCollab(ratings, tiny);
    expect(tf.getBackend()).toBe(expected);
    expect(backendInfo()?.name).toBe(expected);
    if (expected === "wasm") expect(backendInfo()?.addedKernels).toContain("UnsortedSegmentSum");
    expect(Number.isFinite(result.history[0].loss)).toBe(true);
    result.dispose();
    await fitCollab(ratings, tiny).then((r) => r.dispose());
    expect(backendLines()).toHaveLength(1);
    const line = new RegExp(`^lesson4: tfjs runs on ${expected} \\(.*initBackend\\(\\)[^\\n]*\\n$`);
    expect(backendLines()[0]).toMatch(line);
  });

  it("an explicit initBackend choice is kept", async () => {
    await initBackend("cpu");
    const result = await fitCollab(ratings, tiny);
    expect(tf.getBackend()).toBe("cpu");
    result.dispose();
    expect(backendLines()).toHaveLength(1);
  });
});
