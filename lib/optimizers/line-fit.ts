/**
 * The workbook's problem (fit y = a·x + b to its 29 rows, one row per step) driven by any update
 * rule written on plain numbers, so a notebook can run rules it defines in its own cells next to
 * lib's (`rules.ts`) and compare them step by step.
 */
import { GRADDESC_XY } from "./workbook-fixture";

/** What a rule carries for one parameter between steps (momentum's v, Adam's m and v, ...). */
export type RuleState = Record<string, number>;

/**
 * One step of an update rule for one parameter at step t (1-based): the new value `p` and the
 * new state (every other key).
 */
export type Rule = (p: number, g: number, state: RuleState, t: number) => { p: number } & RuleState;

/** a and b after one step, and that step's squared error (before the step). */
export interface LineFitStep {
  step: number;
  a: number;
  b: number;
  err2: number;
}

export interface LineFitOptions {
  /** x and y are divided by this (default 1: the workbook's own numbers). */
  scale?: number;
  /** Start values (default a = b = 1, the reset buttons'). */
  a?: number;
  b?: number;
}

/**
 * Fits y = a·x + b from a = b = 1 with `rule`, one workbook row per step, cycling through the 29
 * rows, for `steps` steps. Each step's loss is that row's squared error (a·x + b − y)², so the
 * gradients are 2·err·x for a and 2·err for b, as on the sheets. a and b each start from their
 * own copy of `init`.
 */
export function fitLine(
  rule: Rule,
  init: RuleState,
  steps: number,
  options: LineFitOptions = {},
): LineFitStep[] {
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`steps must be a whole number >= 1, not ${steps}.`);
  const scale = options.scale ?? 1;
  if (!(scale > 0)) throw new Error(`scale must be a number greater than 0, not ${scale}.`);
  let a = options.a ?? 1;
  let b = options.b ?? 1;
  let stateA: RuleState = { ...init };
  let stateB: RuleState = { ...init };
  const out: LineFitStep[] = [];
  for (let t = 1; t <= steps; t++) {
    const i = (t - 1) % GRADDESC_XY.x.length;
    const x = GRADDESC_XY.x[i] / scale;
    const y = GRADDESC_XY.y[i] / scale;
    const err = a * x + b - y;
    const { p: newA, ...nextA } = rule(a, 2 * err * x, stateA, t);
    const { p: newB, ...nextB } = rule(b, 2 * err, stateB, t);
    [a, b, stateA, stateB] = [newA, newB, nextA, nextB];
    out.push({ step: t, a, b, err2: err * err });
  }
  return out;
}

/** The largest |difference| of a and of b between two runs of the same length, step by step. */
export function largestDifference(one: LineFitStep[], other: LineFitStep[]): number {
  if (one.length !== other.length)
    throw new Error(`the runs have ${one.length} and ${other.length} steps.`);
  let most = 0;
  one.forEach((s, i) => {
    most = Math.max(most, Math.abs(s.a - other[i].a), Math.abs(s.b - other[i].b));
  });
  return most;
}
