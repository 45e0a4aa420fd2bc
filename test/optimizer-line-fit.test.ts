/** lib/optimizers/line-fit: any rule on the workbook's line fit, step by step (no tfjs). */
import { describe, expect, it } from "vitest";
import { fitLine, largestDifference } from "../lib/optimizers/line-fit";
import { calculateSheet, GRADDESC_XY, sgdStep, workbookRmspropStep } from "../lib/optimizers/index";

describe("fitLine", () => {
  it("with SGD is the basic SGD sheet's rows: new a and new b after each row", () => {
    const rows = calculateSheet("basic SGD", { a: 1, b: 1, lr: 1e-4 }).rows;
    const run = fitLine((p, g) => ({ p: sgdStep(p, g, 1e-4) }), {}, rows.length);
    expect(run.map((s) => s.a)).toEqual(rows.map((r) => r[12]));
    expect(run.map((s) => s.b)).toEqual(rows.map((r) => r[13]));
    run.forEach((s, i) => expect(s.err2).toBeCloseTo(rows[i][5], 9));
  });

  it("carries each parameter's own state: the rmsprop sheet's rows", () => {
    const rows = calculateSheet("rmsprop", { a: 1, b: 1, lr: 0.02, s: [1e4, 1e4] }).rows;
    const rule = (p: number, g: number, state: Record<string, number>) => {
      const r = workbookRmspropStep(p, g, state.s, 0.02, 0.9);
      return { p: r.p, s: r.s };
    };
    const run = fitLine(rule, { s: 1e4 }, rows.length);
    expect(run.map((s) => [s.b, s.a])).toEqual(rows.map((r) => [r[7], r[8]]));
  });

  it("cycles through the 29 rows, counts steps from 1, scales x and y, starts where asked", () => {
    const seen: number[] = [];
    const run = fitLine(
      (p, g, _s, t) => {
        seen.push(t);
        return { p: p - 0.5 * g };
      },
      {},
      30,
      { a: 2, b: 30 },
    );
    expect(seen.filter((_, i) => i % 2 === 0)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // on the true line (a = 2, b = 30) the error is 0 and nothing moves
    expect(run[29]).toEqual({ step: 30, a: 2, b: 30, err2: 0 });
    const scaled = fitLine((p) => ({ p }), {}, 1, { scale: 100 });
    const err = GRADDESC_XY.x[0] / 100 + 1 - GRADDESC_XY.y[0] / 100;
    expect(scaled[0].err2).toBe(err * err);
  });

  it("rejects bad step counts and scales", () => {
    const rule = (p: number) => ({ p });
    expect(() => fitLine(rule, {}, 0)).toThrow(/whole number >= 1/);
    expect(() => fitLine(rule, {}, 2.5)).toThrow(/whole number >= 1/);
    expect(() => fitLine(rule, {}, 3, { scale: 0 })).toThrow(/greater than 0/);
  });
});

describe("largestDifference", () => {
  it("is 0 for the same run and the largest gap of a or b otherwise", () => {
    const one = fitLine((p, g) => ({ p: sgdStep(p, g, 1e-4) }), {}, 10);
    const other = fitLine((p, g) => ({ p: sgdStep(p, g, 2e-4) }), {}, 10);
    expect(largestDifference(one, one)).toBe(0);
    const gaps = one.flatMap((s, i) => [Math.abs(s.a - other[i].a), Math.abs(s.b - other[i].b)]);
    expect(largestDifference(one, other)).toBe(Math.max(...gaps));
    expect(() => largestDifference(one, other.slice(1))).toThrow(/10 and 9 steps/);
  });
});
