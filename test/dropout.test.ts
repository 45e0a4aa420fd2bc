import { describe, expect, it } from "vitest";
import { initBackend, tf } from "../lib/engine/backend";
import { DROPOUT_MASK_KERNEL, dropoutMask, dropoutMaskValues } from "../lib/engine/dropout";
import { SeededDropout } from "../lib/engine/seeded";

/**
 * Dropout masks (lib/engine/dropout.ts): the wasm kernel (kernels/dropout.wat) and the JavaScript
 * hash give the same values, the masks drop the asked share of units, and a layer's masks follow
 * its seed.
 */
async function maskOn(
  backend: "cpu" | "wasm",
  shape: number[],
  seed: number,
  rate: number,
  kept: number,
) {
  await initBackend(backend);
  const mask = dropoutMask(shape, seed, rate, kept);
  const values = Float32Array.from(mask.dataSync());
  mask.dispose();
  return values;
}

/** The first index where the values differ (-1 for none). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe("dropout masks", () => {
  it("the wasm kernel, the cpu backend and the JavaScript values agree bit for bit", async () => {
    await initBackend("wasm");
    expect(tf.getKernel(DROPOUT_MASK_KERNEL, "wasm")).toBeDefined(); // the SIMD pass really runs
    for (const [shape, seed, rate, kept] of [
      [[32, 1001], 7, 0.2, 1 / 0.8], // 32,032 units: the SIMD pass
      [[3, 3], 123456789, 0.5, 2], // 9: 8 in the SIMD pass, a tail of 1
      [[7], 0, 0, 1], // rate 0 keeps everything
      [[1000], 2 ** 31 - 1, 0.95, 1],
    ] as Array<[number[], number, number, number]>) {
      const n = shape.reduce((a, b) => a * b, 1);
      const js = dropoutMaskValues(n, seed, rate, Math.fround(kept));
      const wasm = await maskOn("wasm", shape, seed, rate, kept);
      const cpu = await maskOn("cpu", shape, seed, rate, kept);
      expect(firstDifference(wasm, js), `wasm ${shape}`).toBe(-1);
      expect(firstDifference(cpu, js), `cpu ${shape}`).toBe(-1);
      expect(new Set(js).size).toBeLessThanOrEqual(2);
      if (rate === 0) expect(js.every((v) => v === Math.fround(kept))).toBe(true);
    }
    await initBackend("wasm");
  });

  it("drops each unit with probability rate, independently of its neighbours and of other seeds", () => {
    const n = 200_000;
    for (const rate of [0.1, 0.5, 0.8]) {
      const a = dropoutMaskValues(n, 11, rate);
      const b = dropoutMaskValues(n, 12, rate);
      const dropped = a.filter((v) => v === 0).length / n;
      expect(Math.abs(dropped - rate)).toBeLessThan(0.005);
      // two independent masks agree on a unit with probability rate² + (1 - rate)²; so do neighbours
      const agree = (x: Float32Array, y: Float32Array, shift: number) => {
        let same = 0;
        for (let i = 0; i + shift < n; i++) if (x[i] === y[i + shift]) same++;
        return same / (n - shift);
      };
      const expected = rate * rate + (1 - rate) * (1 - rate);
      expect(Math.abs(agree(a, b, 0) - expected)).toBeLessThan(0.006);
      expect(Math.abs(agree(a, a, 1) - expected)).toBeLessThan(0.006);
      expect(Math.abs(agree(a, a, 4) - expected)).toBeLessThan(0.006); // one SIMD step apart
    }
  });

  it("says what is wrong with a rate outside [0, 1)", () => {
    for (const rate of [-0.1, 1, Number.NaN])
      expect(() => dropoutMaskValues(4, 1, rate)).toThrow(/dropout rate must be in \[0, 1\)/);
  });

  it("SeededDropout multiplies by its seed's masks, one new mask per training call", async () => {
    await initBackend("wasm");
    const layer = new SeededDropout({ rate: 0.25, seed: 5 });
    const x = tf.randomNormal([4, 50], 0, 1, "float32", 3);
    const xs = x.dataSync();
    const seeds = new SeededDropout({ rate: 0.25, seed: 5 }); // the same stream of mask seeds
    for (let step = 0; step < 2; step++) {
      const y = (layer.apply(x, { training: true }) as tf.Tensor).dataSync();
      const mask = dropoutMaskValues(200, seeds.nextMaskSeed(), 0.25, seeds.keptScale());
      const expected = Float32Array.from(xs, (v, i) => v * mask[i]);
      expect(firstDifference(Float32Array.from(y), expected)).toBe(-1);
    }
    x.dispose();
  });
});
