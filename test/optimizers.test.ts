/** The from-scratch rules and the workbook simulator's interface (no workbook needed). */
import { describe, expect, it } from "vitest";
import {
  SHEET_NAMES,
  simulateSheet,
  WorkbookSheet,
  calculateSheet,
  savedState,
  resetState,
  momentumStep,
  adamStep,
  eveFeedback,
  sheetConstants,
} from "../lib/optimizers/index";

describe("simulateSheet", () => {
  it("rejects unknown sheets, bad epoch counts and non-finite learning rates, listing valid values", () => {
    expect(() => simulateSheet("nesterov", { epochs: 1 })).toThrow(
      /valid sheets are "basic SGD", "momentum", "adagrad", "rmsprop", "adam", "eve", "adagrad_ann", "adam_ann"/,
    );
    expect(() => simulateSheet("adam", { epochs: -1 })).toThrow(/whole number >= 0/);
    expect(() => simulateSheet("adam", { epochs: 1.5 })).toThrow(/whole number >= 0/);
    expect(() => simulateSheet("adam", { epochs: 1, lr: Number.NaN })).toThrow(
      /finite number greater than 0/,
    );
    expect(() => simulateSheet("adam", { epochs: 1, lr: Infinity })).toThrow(
      /finite number greater than 0/,
    );
  });

  it.each(SHEET_NAMES.map((s) => [s]))(
    "%s: one record per epoch, the start values of the next epoch",
    (sheet) => {
      const run = simulateSheet(sheet, { epochs: 3 });
      expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
      expect(run.table).toHaveLength(29);
      // replaying epoch by epoch through the buttons gives the same numbers
      const ws = new WorkbookSheet(sheet);
      ws.onestep().onestep().onestep();
      expect(ws.history).toEqual(run.epochs);
      // an epoch's loss is the loss of a pass started from the previous epoch's copied-back values
      expect(calculateSheet(sheet, ws.state).loss).toBe(
        simulateSheet(sheet, { epochs: 4 }).epochs[3].loss,
      );
      for (const record of run.epochs)
        for (const v of [record.a, record.b, record.lr, record.loss])
          expect(Number.isFinite(v)).toBe(true);
    },
  );

  it("the run button is five onesteps and the lr option overrides the start lr", () => {
    const five = new WorkbookSheet("momentum").run();
    expect(five.history).toHaveLength(5);
    const slow = simulateSheet("basic SGD", { epochs: 2, lr: 1e-5 });
    expect(slow.epochs.every((e) => e.lr === 1e-5)).toBe(true);
    const fast = simulateSheet("basic SGD", { epochs: 2 });
    expect(fast.epochs[0].lr).toBe(1e-4);
    expect(fast.epochs[1].a).not.toBe(slow.epochs[1].a);
  });

  it("the annealing sheets cut the learning rate and never raise it", () => {
    for (const sheet of ["adagrad_ann", "adam_ann"] as const) {
      const run = simulateSheet(sheet, { epochs: 30 });
      const lrs = run.epochs.map((e) => e.lr);
      for (let i = 1; i < lrs.length; i++) expect(lrs[i]).toBeLessThanOrEqual(lrs[i - 1]);
      expect(lrs[lrs.length - 1]).toBeLessThan(run.start.lr);
    }
  });

  it("adam_ann's workbook typo (J5) changes only what it should", () => {
    const intended = calculateSheet("adam_ann", savedState("adam_ann"));
    const typo = calculateSheet("adam_ann", savedState("adam_ann"), { workbookTypo: true });
    expect(typo.rows[0]).toEqual(intended.rows[0]);
    expect(typo.rows[1][9]).not.toBe(intended.rows[1][9]);
    expect(typo.rows[1][11]).toBe(intended.rows[1][11]);
  });

  it("reset leaves a = b = 1 on every sheet", () => {
    for (const sheet of SHEET_NAMES) {
      const st = resetState(sheet);
      expect([st.a, st.b]).toEqual([1, 1]);
    }
  });
});

describe("rules", () => {
  it("momentum is an exponential moving average of the gradient", () => {
    const r = momentumStep(1, 10, 2, 0.1, 0.9);
    expect(r.m).toBeCloseTo(0.9 * 2 + 0.1 * 10, 12);
    expect(r.p).toBeCloseTo(1 - 0.1 * r.m, 12);
  });
  it("bias-corrected Adam's first step has size lr whatever the gradient's scale", () => {
    for (const g of [1e-3, 1, 1e3])
      expect(Math.abs(adamStep(0, g, 0, 0, 1, 0.01, 0.9, 0.999, 0).p)).toBeCloseTo(0.01, 10);
  });
  it("Eve's feedback is the relative change of the last two losses", () => {
    expect(eveFeedback(3, 2, 1, 0.9).r).toBeCloseTo(0.5, 12);
    expect(eveFeedback(3, 2, 1, 0.9).d).toBeCloseTo(0.9 + 0.05, 12);
  });
});

describe("simulateSheet with other betas", () => {
  it("uses the betas given instead of the workbook's, and checks them", () => {
    const saved = simulateSheet("adam", { epochs: 5 });
    const { beta1, beta2 } = sheetConstants("adam"); // the workbook's: 0.7 and 0.9
    const same = simulateSheet("adam", { epochs: 5, constants: { beta1, beta2 } });
    const other = simulateSheet("adam", { epochs: 5, constants: { beta1: 0.5 } });
    expect(same.epochs.map((e) => e.loss)).toEqual(saved.epochs.map((e) => e.loss));
    expect(other.epochs.at(-1)!.loss).not.toBe(saved.epochs.at(-1)!.loss);
    expect(() => simulateSheet("adam", { epochs: 1, constants: { beta2: 1 } })).toThrow(
      /beta2 must be a number in \[0, 1\)/,
    );
  });
});
