/**
 * The workbook's buttons as code: reset, onestep (one epoch: copy the bottom of the sheet back
 * to the top, as in manual calculation) and run (five onesteps), with the annealing sheets'
 * learning-rate checks after each step.
 */
import {
  calculateSheet,
  type CalcOptions,
  type Pair,
  type SheetCalc,
  type SheetName,
  type SheetState,
} from "./workbook";
import { GRADDESC_SAVED } from "./workbook-fixture";
import { annealingCheck } from "./rules";

/** The state saved in the lesson workbook for a sheet (start values and carried cells). */
export function savedState(sheet: SheetName): SheetState {
  const saved = GRADDESC_SAVED[sheet].state as SheetState;
  return JSON.parse(JSON.stringify(saved)) as SheetState;
}

const pair = (p: Pair | undefined): Pair | undefined => (p ? [p[0], p[1]] : undefined);

/**
 * What the reset button leaves. Where the workbook's macro reads values from before the reset
 * (eve, adam_ann), `before` is the sheet as it stood (default: the workbook's saved state).
 * - basic SGD: a = b = 1 (lr unchanged).
 * - momentum: m = 0, a = b = 1, lr = 1e-4; then row 32's averages (from that state) are carried once.
 * - adagrad: F1:G1 = 10000, a = b = 1; then F33:G33 (from that state) are carried once.
 * - rmsprop: s = 10000, a = b = 1; then twice: recalculate, carry row 32's s.
 * - adam: s = 10000, m = 0, a = b = 1, lr = 1; then twice: recalculate, carry s; recalculate, carry m.
 * - eve: s = 10000, m = 0, a = b = 1, lr = 1, d = 1; then m and s are taken from row 32 of the
 *   calculation *before* the reset (manual calculation), recalculate, f1 = loss, f2 = loss / 2.
 * - adagrad_ann: F1:G1 = 1e6, a = b = 1, J1 = 100, lr = 0.5 (no copies).
 * - adam_ann: adam's reset (recalculating between the copies), then prev_grad2 = the resulting
 *   avg_grad2. (The workbook's macro reads part of its values from before the reset, in manual
 *   calculation; this project recalculates instead, so 'reset' here does not depend on history.)
 */
export function resetState(
  sheet: SheetName,
  before: SheetState = savedState(sheet),
  options: CalcOptions = {},
): SheetState {
  const calc = (st: SheetState) => calculateSheet(sheet, st, options);
  switch (sheet) {
    case "basic SGD":
      return { a: 1, b: 1, lr: before.lr };
    case "momentum": {
      const st: SheetState = { a: 1, b: 1, lr: 1e-4, m: [0, 0] };
      st.m = pair(calc(st).last.m);
      return st;
    }
    case "adagrad": {
      const st: SheetState = { a: 1, b: 1, lr: before.lr, g: [10000, 10000] };
      st.g = pair(calc(st).g);
      return st;
    }
    case "rmsprop": {
      const st: SheetState = { a: 1, b: 1, lr: before.lr, s: [10000, 10000] };
      for (let i = 0; i < 2; i++) st.s = pair(calc(st).last.s);
      return st;
    }
    case "adam":
    case "adam_ann": {
      const st: SheetState = { a: 1, b: 1, lr: 1, m: [0, 0], s: [10000, 10000] };
      if (sheet === "adam_ann") st.prevGrad2 = 1;
      for (let i = 0; i < 2; i++) {
        st.s = pair(calc(st).last.s);
        st.m = pair(calc(st).last.m);
      }
      if (sheet === "adam_ann") st.prevGrad2 = Math.sqrt(st.s![0]) + Math.sqrt(st.s![1]);
      return st;
    }
    case "eve": {
      const previous = calc(before);
      const st: SheetState = {
        a: 1,
        b: 1,
        lr: 1,
        d1: 1,
        m: pair(previous.last.m),
        s: pair(previous.last.s),
        f1: 1,
        f2: 1,
      };
      const loss = calc(st).loss;
      st.f1 = loss;
      st.f2 = loss / 2;
      return st;
    }
    case "adagrad_ann":
      return { a: 1, b: 1, lr: 0.5, g: [1e6, 1e6], prevSum: 100 };
  }
}

/** The result of one press of onestep: the calculation it copied from and the new state. */
export interface StepResult {
  calc: SheetCalc;
  state: SheetState;
  /** How many times an annealing check cut the learning rate during this step. */
  lrCuts: number;
}

/**
 * One epoch: copies row 32 (and the cells below) back to the start cells, as the onestep macro
 * does in manual calculation, then (annealing sheets) checks the learning rate.
 */
export function onestep(
  sheet: SheetName,
  state: SheetState,
  options: CalcOptions = {},
): StepResult {
  const calc = calculateSheet(sheet, state, options);
  const { last } = calc;
  const next: SheetState = { ...state, m: pair(state.m), s: pair(state.s), g: pair(state.g) };
  // adagrad copies row 32's outputs (H32:I32); every other sheet copies row 32's inputs (C32:D32).
  if (sheet === "adagrad") {
    next.b = last.newB;
    next.a = last.newA;
  } else {
    next.b = last.b;
    next.a = last.a;
  }
  if (last.m) next.m = pair(last.m);
  if (last.s) next.s = pair(last.s);
  if (calc.g && (sheet === "adagrad" || sheet === "adagrad_ann")) next.g = pair(calc.g);
  if (sheet === "eve") {
    next.f2 = state.f1;
    next.f1 = calc.loss;
    next.d1 = calc.dt;
  }
  let lrCuts = 0;
  if (sheet === "adagrad_ann") {
    let after = calculateSheet(sheet, next, options);
    while (after.sum! > 2 * next.prevSum! && lrCuts < 1000) {
      next.lr /= 2;
      lrCuts++;
      after = calculateSheet(sheet, next, options);
    }
    next.prevSum = after.sum;
  }
  if (sheet === "adam_ann") {
    const after = calculateSheet(sheet, next, options);
    const check = annealingCheck(after.avgGrad2!, next.prevGrad2!, next.lr);
    if (check.cut) lrCuts++;
    next.lr = check.lr;
    next.prevGrad2 = check.prevGrad2;
  }
  return { calc, state: next, lrCuts };
}
