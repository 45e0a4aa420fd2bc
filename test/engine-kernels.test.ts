import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import {
  simdKernels,
  type SimdKernels,
  TINY_MOMENT,
  TINY_SQUARED_GRADIENT,
  TINY_WEIGHT,
} from "../lib/engine/wasm-simd";
import { KERNEL_SOURCES, moduleText } from "../lib/engine/kernels/assemble";

/**
 * The SIMD module's kernels (lib/engine/kernels/*.wat) one by one against plain JavaScript written from their
 * descriptions, value for value (NaN equal to NaN, -0 apart from +0), on random data with NaN, infinities, signed
 * zeros and subnormals, on plain and shared memory. The other tests reach the kernels through tfjs; these say
 * which kernel is wrong when one is.
 */
const f = Math.fround;
const SPECIAL = [NaN, -0, 0, Infinity, -Infinity, 1e-40, -3e-39, 2 ** -100, 65504, -1];

function randomFill(view: Float32Array, seed: number, special = true): void {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < view.length; i++) {
    const r = next();
    view[i] =
      special && r < 0.05 ? SPECIAL[Math.floor(next() * SPECIAL.length)] : f(next() * 8 - 4);
  }
}

/** The same values, NaN equal to NaN and -0 apart from +0: the first index where they differ, or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/**
 * What matMul should leave in c (row-major [m, n]): for j < cols each output the float32 sum over p, in order, of
 * a[i * saI + p * saK] * b[p * n + j]; the columns from cols on as they were.
 */
function inOrderProduct(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  [m, kk, cols, n, saI, saK]: number[],
): number[] {
  const expected = Array.from(c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let p = 0; p < kk; p++) sum = f(sum + f(a[i * saI + p * saK] * b[p * n + j]));
      expected[i * n + j] = sum;
    }
  return expected;
}

const memories = {
  plain: new WebAssembly.Memory({ initial: 2 }),
  shared: new WebAssembly.Memory({
    initial: 2,
    maximum: 2,
    shared: true,
  } as WebAssembly.MemoryDescriptor),
};

// Byte addresses of the regions the tests use (each 16 KiB, 4096 floats).
const A = 0,
  B = 16384,
  C = 32768,
  D = 49152,
  N = 4096;

describe.each(Object.entries(memories))(
  "SIMD kernels on %s memory, against JavaScript",
  (_, memory) => {
    const k = simdKernels(memory) as SimdKernels;
    const heap = new Float32Array(memory.buffer);
    const at = (byte: number, n: number) => heap.subarray(byte / 4, byte / 4 + n);
    const reset = (seed: number, special = true) =>
      randomFill(heap.subarray(0, 4 * N), seed, special);

    it("exports every kernel of the SimdKernels interface", () => {
      expect(k).not.toBeNull();
      const names = [
        "adam",
        "adamL2",
        "sumSquares",
        "minScalar",
        "maxScalar",
        "addScalar",
        "addClamp",
        "blockMin",
        "blockMax",
        "blockRange",
        "reluGrad",
        "zero",
        "matMul",
        "batchNorm",
        "columnSum",
        "columnPairSums",
        "twoTermAffine",
        "poolArgmax",
        "poolGradWindow",
        "col2imAdd",
        "patchRow",
        "warp",
        "dropoutMask",
        "shiftClip",
      ];
      for (const name of names)
        expect(typeof (k as unknown as Record<string, unknown>)[name], name).toBe("function");
    });

    it("sumSquares: four float32 lanes, then the lanes left to right", () => {
      for (const n of [4, 8, 100, 1000]) {
        reset(n, false);
        const x = at(A, n);
        const lanes = [0, 0, 0, 0];
        for (let i = 0; i < n; i++) lanes[i % 4] = f(f(x[i] * x[i]) + lanes[i % 4]);
        expect(k.sumSquares(A, n)).toBe(f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]));
      }
    });

    it("minScalar, maxScalar, addScalar, addClamp and reluGrad, value by value", () => {
      const n = 1000;
      const cases: Array<[string, () => void, (x: number, i: number) => number]> = [
        ["minScalar", () => k.minScalar(A, C, n, 0.5), (x) => Math.min(x, 0.5)],
        ["maxScalar", () => k.maxScalar(A, C, n, -0.25), (x) => Math.max(x, -0.25)],
        ["addScalar", () => k.addScalar(A, C, n, 1.5), (x) => f(x + 1.5)],
        [
          "addClamp",
          () => k.addClamp(A, C, n, 0.75, -1, 2),
          (x) => Math.min(Math.max(f(x + 0.75), -1), 2),
        ],
        [
          "reluGrad",
          () => k.reluGrad(B, A, C, n),
          (x, i) => f(at(B, n)[i] * (x > 0 ? 1 : Number.isNaN(x) ? x : 0)),
        ],
      ];
      for (const [name, run, reference] of cases) {
        reset(7);
        const expected = Array.from(at(A, n), reference);
        run();
        expect(firstDifference(at(C, n), expected), name).toBe(-1);
      }
    });

    it("blockMin, blockMax and blockRange: NaN anywhere gives NaN, -0 below +0", () => {
      for (const [n, special] of [
        [4, true],
        [64, false],
        [1000, true],
        [1000, false],
      ] as const) {
        reset(n, special);
        const x = Array.from(at(A, n));
        const lo = x.reduce((a, b) => Math.min(a, b)),
          hi = x.reduce((a, b) => Math.max(a, b));
        expect(Object.is(k.blockMin(A, n), lo)).toBe(true);
        expect(Object.is(k.blockMax(A, n), hi)).toBe(true);
        const [rlo, rhi] = k.blockRange(A, n);
        expect([Object.is(rlo, lo), Object.is(rhi, hi)]).toEqual([true, true]);
      }
    });

    it("shiftClip: an image's values shifted and clipped to their own range before the shift, odd sizes too", () => {
      for (const n of [1, 5, 15, 16, 19, 301]) {
        reset(n, false);
        const x = Array.from(at(A + 4, n));
        const lo = x.reduce((a, b) => Math.min(a, b)),
          hi = x.reduce((a, b) => Math.max(a, b));
        const shift = f(0.3);
        k.shiftClip(A + 4, n, shift);
        expect(
          firstDifference(
            at(A + 4, n),
            x.map((v) => Math.min(Math.max(f(v + shift), lo), hi)),
          ),
        ).toBe(-1);
      }
    });

    it("matMul: plain and transposed A, row pairs and a last row, 16-wide, 4-wide and tail columns, sums in order", () => {
      for (const [m, kk, n, cols] of [
        [3, 5, 37, 37],
        [2, 7, 16, 16],
        [4, 3, 9, 8],
        [1, 1, 1, 1],
        [7, 40, 48, 45], // three pairs of rows and a last one, three 16-wide blocks, then the tail
        [3, 0, 20, 20], // k = 0: zeros
      ]) {
        for (const transposed of [false, true]) {
          reset(m * 100 + n, false);
          const a = at(A, m * kk),
            b = at(B, kk * n);
          const [saI, saK] = transposed ? [1, m] : [kk, 1];
          const expected = inOrderProduct(a, b, at(C, m * n), [m, kk, cols, n, saI, saK]);
          k.matMul(A, B, C, m, kk, cols, n, saI, saK);
          expect(firstDifference(at(C, m * n), expected), `${m}x${kk}x${n} ${transposed}`).toBe(-1);
        }
      }
    });

    it("batchNorm and twoTermAffine: per channel of the last axis", () => {
      const c = 12,
        rows = 9,
        n = c * rows;
      reset(3);
      const x = at(A, n),
        y = at(B, n),
        p = at(D, 3 * c);
      const norm = Array.from(x, (v, i) =>
        f(f(f(v - p[i % c]) * p[c + (i % c)]) + p[2 * c + (i % c)]),
      );
      k.batchNorm(A, C, n, c, D);
      expect(firstDifference(at(C, n), norm)).toBe(-1);
      const affine = Array.from(x, (v, i) =>
        f(f(f(v * p[i % c]) + f(y[i] * p[c + (i % c)])) + p[2 * c + (i % c)]),
      );
      k.twoTermAffine(A, B, C, n, c, D);
      expect(firstDifference(at(C, n), affine)).toBe(-1);
    });

    it("columnSum and columnPairSums: float64 sums of float32 columns, rows in order", () => {
      const rows = 7,
        cols = 10,
        rowFloats = 12;
      reset(11, false);
      const x = at(A, rows * rowFloats),
        y = at(B, rows * cols);
      const acc = new Float64Array(memory.buffer, D, 2 * cols);
      acc.fill(0.5);
      const sums = Array.from({ length: cols }, () => 0.5);
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) sums[j] += x[r * rowFloats + j];
      k.columnSum(A, D, rows, cols, 4 * rowFloats);
      expect(firstDifference(acc.subarray(0, cols), sums)).toBe(-1);
      acc.fill(0);
      const pairs = Array.from({ length: 2 * cols }, () => 0);
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < cols; j++) {
          pairs[j] += x[r * cols + j];
          pairs[cols + j] += x[r * cols + j] * y[r * cols + j];
        }
      k.columnPairSums(A, B, D, rows, cols);
      expect(firstDifference(acc, pairs)).toBe(-1);
    });

    it("poolArgmax: each channel's first strict maximum in the window (none for NaN or -Infinity)", () => {
      const c = 8,
        width = 5,
        rows = 3,
        cols = 2;
      reset(5);
      const idx = new Uint32Array(memory.buffer, D, c);
      const start = A + 4 * (width + 1) * c;
      // channels 0-3: only NaN and -Infinity in the window, so no maximum is taken
      for (let yy = 0; yy < rows; yy++)
        for (let xx = 0; xx < cols; xx++)
          for (let ch = 0; ch < 4; ch++)
            heap[start / 4 + yy * width * c + xx * c + ch] = (xx + ch) % 2 ? NaN : -Infinity;
      k.poolArgmax(start, 4 * width * c, 4 * c, rows, cols, 4 * c, D);
      for (let ch = 0; ch < c; ch++) {
        let best = -Infinity,
          where = 0xffffffff;
        for (let yy = 0; yy < rows; yy++)
          for (let xx = 0; xx < cols; xx++) {
            const byte = start + 4 * (yy * width * c + xx * c + ch);
            if (heap[byte / 4] > best) {
              best = heap[byte / 4];
              where = byte;
            }
          }
        expect(idx[ch], `channel ${ch}`).toBe(where);
        if (ch < 4) expect(where).toBe(0xffffffff);
      }
    });

    it("poolGradWindow: each channel's gradient added at its first strict maximum's place, none where none", () => {
      const c = 8,
        width = 5,
        rows = 3,
        cols = 2;
      reset(6);
      const start = A + 4 * (width + 1) * c;
      for (
        let yy = 0;
        yy < rows;
        yy++ // channels 0-3 as above: no maximum taken
      )
        for (let xx = 0; xx < cols; xx++)
          for (let ch = 0; ch < 4; ch++)
            heap[start / 4 + yy * width * c + xx * c + ch] = (xx + ch) % 2 ? NaN : -Infinity;
      const delta = B - A; // the gradient at B has the input's layout
      const g = C; // the window's incoming gradient, one per channel
      const before = Array.from(at(B, N));
      k.poolGradWindow(start, 4 * width * c, 4 * c, rows, cols, 4 * c, D, g, delta);
      const expected = before.slice();
      k.poolArgmax(start, 4 * width * c, 4 * c, rows, cols, 4 * c, D);
      const idx = new Uint32Array(memory.buffer, D, c);
      for (let ch = 0; ch < c; ch++)
        if (idx[ch] !== 0xffffffff) {
          const place = (idx[ch] + delta - B) / 4;
          expected[place] = f(expected[place] + heap[g / 4 + ch]);
        }
      expect(idx.slice(0, 4).every((i) => i === 0xffffffff)).toBe(true);
      expect(firstDifference(at(B, N), expected)).toBe(-1);
      expect(firstDifference(at(B, N), before)).not.toBe(-1); // something was added
    });

    it("col2imAdd: each output pixel's kh runs of kw * c values added where they lie in dx", () => {
      for (const [n, oh, ow, kh, kw, c] of [
        [2, 3, 4, 3, 3, 3], // runs of 9: two SIMD steps and one value
        [1, 2, 5, 2, 2, 2], // runs of 4
      ]) {
        reset(20 + kw, false);
        const [h, w] = [oh + kh - 1, ow + kw - 1];
        const g = at(A, n * oh * ow * kh * kw * c);
        const before = Array.from(at(B, n * h * w * c));
        const expected = before.slice();
        for (let b = 0, from = 0; b < n; b++)
          for (let y = 0; y < oh; y++)
            for (let x = 0; x < ow; x++)
              for (let i = 0; i < kh; i++)
                for (let v = 0, to = ((b * h + y + i) * w + x) * c; v < kw * c; v++, from++)
                  expected[to + v] = f(expected[to + v] + g[from]);
        k.col2imAdd(A, B, n, oh, ow, kh, kw * c, c);
        expect(firstDifference(at(B, n * h * w * c), expected), `${kh}x${kw}x${c}`).toBe(-1);
      }
    });

    it("patchRow: values cBytes apart, image by image and row by row, packed", () => {
      const n = 2,
        oh = 3,
        ow = 4,
        h = 5,
        w = 6,
        ch = 3;
      reset(9);
      const expected: number[] = [];
      for (let b = 0; b < n; b++)
        for (let yy = 0; yy < oh; yy++)
          for (let xx = 0; xx < ow; xx++)
            expected.push(heap[1 + b * h * w * ch + yy * w * ch + xx * ch]);
      k.patchRow(A + 4, C, n, oh, ow, 4 * h * w * ch, 4 * w * ch, 4 * ch);
      expect(firstDifference(at(C, expected.length), expected)).toBe(-1);
    });

    it("zero: exactly the bytes asked for", () => {
      reset(1, false);
      const before = Array.from(at(A, 16));
      k.zero(A + 12, 20);
      expect(Array.from(at(A, 16))).toEqual(before.map((v, i) => (i >= 3 && i < 8 ? 0 : v)));
    });
  },
);

describe("the kernels' source", () => {
  it("is one module of the .wat files, importing the backend's memory and declaring none of its own", () => {
    expect(KERNEL_SOURCES.length).toBeGreaterThan(0);
    for (const shared of [false, true]) {
      const text = moduleText(shared);
      expect(text.match(/\(memory /g)?.length).toBe(1);
      expect(text).toContain(
        shared
          ? '(import "env" "memory" (memory 0 65536 shared))'
          : '(import "env" "memory" (memory 0))',
      );
      expect(text).not.toMatch(/\(data /);
    }
  });
});

describe("adam.wat's flush thresholds", () => {
  it("are the TINY_* numbers fused-adam.ts's JavaScript step uses", () => {
    const text = fs.readFileSync(path.join(__dirname, "../lib/engine/kernels/adam.wat"), "utf8");
    const hex = (x: number) => `0x1p${Math.log2(x)}`;
    for (const tiny of [TINY_WEIGHT, TINY_MOMENT, TINY_SQUARED_GRADIENT]) {
      expect(text).toContain(
        `(v128.const f32x4 ${hex(tiny)} ${hex(tiny)} ${hex(tiny)} ${hex(tiny)})`,
      );
    }
    const used = new Set(text.match(/0x1p-\d+/g));
    expect([...used].sort()).toEqual(
      [TINY_WEIGHT, TINY_MOMENT, TINY_SQUARED_GRADIENT].map(hex).sort(),
    );
  });
});

describe("matMul past one chunk of k (4096 rows of b)", () => {
  it("sums in order across the chunks, in the 16-wide blocks, the 4-wide columns and the tail", () => {
    const memory = new WebAssembly.Memory({ initial: 64 });
    const k = simdKernels(memory) as SimdKernels;
    const heap = new Float32Array(memory.buffer);
    randomFill(heap, 99, false);
    const [m, kk, n, cols] = [5, 9000, 40, 38]; // chunks of 4096, 4096 and 808; two 16-wide blocks, then 6
    const [A, B, C] = [0, 4 * m * kk, 4 * (m * kk + kk * n + 4)];
    for (const transposed of [false, true]) {
      const a = heap.subarray(A / 4, A / 4 + m * kk),
        b = heap.subarray(B / 4, B / 4 + kk * n);
      const [saI, saK] = transposed ? [1, m] : [kk, 1];
      const c = heap.subarray(C / 4, C / 4 + m * n);
      const expected = inOrderProduct(a, b, c, [m, kk, cols, n, saI, saK]);
      k.matMul(A, B, C, m, kk, cols, n, saI, saK);
      expect(firstDifference(c, expected), `transposed ${transposed}`).toBe(-1);
    }
  });
});
