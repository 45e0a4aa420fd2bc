/**
 * The gradient-descent workbook (graddesc.xlsx) as code: each optimizer sheet's rows, its
 * reset / onestep / run buttons and the annealing checks, in float64 and in the cells' own
 * operation order, so runs match Excel's cached values.
 */
import {
  eveFeedback,
  momentumStep,
  sgdStep,
  workbookAdagradStep,
  workbookAdamStep,
  workbookRmspropStep,
  adagradScale,
} from "./rules";
import { GRADDESC_SAVED, GRADDESC_XY } from "./workbook-fixture";

/** The optimizer sheets, in workbook order. */
export const SHEET_NAMES = [
  "basic SGD",
  "momentum",
  "adagrad",
  "rmsprop",
  "adam",
  "eve",
  "adagrad_ann",
  "adam_ann",
] as const;
export type SheetName = (typeof SHEET_NAMES)[number];

/** A pair of per-parameter values, in the sheets' column order: [for b, for a]. */
export type Pair = [number, number];

/** Everything a sheet carries between epochs (the cells above and below the table). */
export interface SheetState {
  /** Intercept b (C1) and slope a (C2). */
  b: number;
  a: number;
  /** The learning rate (F1 on basic SGD, D2 elsewhere). */
  lr: number;
  /** Carried momentum averages (de/db, de/da). */
  m?: Pair;
  /** Carried squared-gradient averages. */
  s?: Pair;
  /** Adagrad's per-parameter gradient scale from the previous epoch (F1:G1). */
  g?: Pair;
  /** Eve: the last two losses (F34, F35) and the previous feedback coefficient d (F37). */
  f1?: number;
  f2?: number;
  d1?: number;
  /** adagrad_ann: the previous epoch's sum(lr / G_prev * G_new) (J1). */
  prevSum?: number;
  /** adam_ann: the smallest avg_grad2 seen (N3). */
  prevGrad2?: number;
}

/** One column of a sheet's table: its cell letter and its header. */
export interface Column {
  letter: string;
  header: string;
}

/** The calculated sheet: the 29 rows (values in column order) and the cells below them. */
export interface SheetCalc {
  columns: Column[];
  rows: number[][];
  /** sqrt(sum of squared errors) over the pass (F33 on basic SGD and eve). */
  loss: number;
  /** Row 32's inputs and outputs, and the carried averages after row 32. */
  last: { b: number; a: number; newB: number; newA: number; m?: Pair; s?: Pair };
  /** Adagrad sheets: F33:G33. */
  g?: Pair;
  /** adagrad_ann: H33. */
  sum?: number;
  /** eve: r_t (F36) and d_t (F38). */
  r?: number;
  dt?: number;
  /** adam_ann: avg_grad2 (N33) and gradrat (N34). */
  avgGrad2?: number;
  gradRatio?: number;
}

/** Options of the calculation. */
export interface CalcOptions {
  /**
   * adam_ann only: reproduce the workbook's typo in cell J5 (`Intro!F5`, an empty cell, instead
   * of F5, so row 5's b-momentum averages in 0 instead of de/db). Default false: the intended formula.
   */
  workbookTypo?: boolean;
  /**
   * Betas to use instead of the sheet's saved ones (widgets and try-it cells explore them); each
   * must lie in [0, 1).
   */
  constants?: SheetConstants;
}

/** A sheet's decay rates: momentum/rmsprop's beta, Adam's beta1 and beta2, Eve's beta3. */
export type SheetConstants = { beta?: number; beta1?: number; beta2?: number; beta3?: number };

const COLS: Record<SheetName, string[]> = {
  "basic SGD": [
    "x",
    "y",
    "intercept",
    "slope",
    "y_pred",
    "err^2",
    "errb1",
    "est de/db",
    "erra1",
    "est de/da",
    "de/db",
    "de/da",
    "new a",
    "new b",
  ],
  momentum: ["x", "y", "b", "a", "pred", "de/db", "de/da", "new b", "new a", "m de/db", "m de/da"],
  adagrad: ["x", "y", "b", "a", "pred", "de/db", "de/da", "new b", "new a"],
  rmsprop: ["x", "y", "b", "a", "pred", "de/db", "de/da", "new b", "new a", "s de/db", "s de/da"],
  adam: [
    "x",
    "y",
    "b",
    "a",
    "pred",
    "de/db",
    "de/da",
    "new b",
    "new a",
    "m de/db",
    "m de/da",
    "s de/db",
    "s de/da",
  ],
  eve: [
    "x",
    "y",
    "b",
    "a",
    "pred",
    "err^2",
    "de/db",
    "de/da",
    "new b",
    "new a",
    "m de/db",
    "m de/da",
    "s de/db",
    "s de/da",
  ],
  adagrad_ann: ["x", "y", "b", "a", "pred", "de/db", "de/da", "new a", "new b"],
  adam_ann: [
    "x",
    "y",
    "b",
    "a",
    "pred",
    "de/db",
    "de/da",
    "new b",
    "new a",
    "m de/db",
    "m de/da",
    "s de/db",
    "s de/da",
  ],
};

/** The table columns of a sheet (cell letters from A). */
export function sheetColumns(sheet: SheetName): Column[] {
  return COLS[sheet].map((header, i) => ({ letter: String.fromCharCode(65 + i), header }));
}

/** The sheets' fixed hyper-parameters (betas), as saved in the workbook. */
export function sheetConstants(sheet: SheetName): SheetConstants {
  return GRADDESC_SAVED[sheet].constants as SheetConstants;
}

/** The sheet's saved betas with `overrides` on top, each checked to lie in [0, 1). */
function constantsOf(sheet: SheetName, overrides: SheetConstants = {}): SheetConstants {
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(Number.isFinite(value) && value >= 0 && value < 1)) {
      throw new RangeError(`${name} must be a number in [0, 1) (e.g. 0.9), not ${value}.`);
    }
  }
  return { ...sheetConstants(sheet), ...overrides };
}

function need<T>(value: T | undefined, what: string, sheet: SheetName): T {
  if (value === undefined)
    throw new Error(`sheet ${JSON.stringify(sheet)} needs ${what} in its state`);
  return value;
}

/** The momentum and rmsprop sheets' step of both parameters, each with its carried average: [b, a]. */
function averagedStep(
  sheet: "momentum" | "rmsprop",
  b: number,
  a: number,
  db: number,
  da: number,
  avg: Pair,
  lr: number,
  beta: number,
): { newB: number; newA: number; avg: Pair } {
  const step = (p: number, g: number, c: number): { p: number; c: number } => {
    if (sheet === "momentum") {
      const r = momentumStep(p, g, c, lr, beta);
      return { p: r.p, c: r.m };
    }
    const r = workbookRmspropStep(p, g, c, lr, beta);
    return { p: r.p, c: r.s };
  };
  const rb = step(b, db, avg[0]);
  const ra = step(a, da, avg[1]);
  return { newB: rb.p, newA: ra.p, avg: [rb.c, ra.c] };
}

/** Recalculates a sheet from its state: every row of the table and the cells below it. */
export function calculateSheet(
  sheet: SheetName,
  state: SheetState,
  options: CalcOptions = {},
): SheetCalc {
  const { x: xs, y: ys } = GRADDESC_XY;
  const k = constantsOf(sheet, options.constants);
  const rows: number[][] = [];
  let b = state.b;
  let a = state.a;
  let m = state.m ? ([...state.m] as Pair) : undefined;
  let s = state.s ? ([...state.s] as Pair) : undefined;
  let sumErr2 = 0;
  const dbs: number[] = [];
  const das: number[] = [];
  let last = { b, a, newB: b, newA: a, m, s };
  let r: number | undefined;
  let dt: number | undefined;
  if (sheet === "eve") {
    const fb = eveFeedback(
      need(state.f1, "f1", sheet),
      need(state.f2, "f2", sheet),
      need(state.d1, "d1", sheet),
      k.beta3!,
    );
    r = fb.r;
    dt = fb.d;
  }
  const gScale =
    sheet === "adagrad" || sheet === "adagrad_ann" ? need(state.g, "g (F1:G1)", sheet) : undefined;
  const stepB = gScale ? state.lr / gScale[0] : 0;
  const stepA = gScale ? state.lr / gScale[1] : 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    const pred = b + a * x;
    const err2 = (y - pred) ** 2;
    sumErr2 += err2;
    const db = 2 * (a * x + b - y);
    const da = db * x;
    dbs.push(db);
    das.push(da);
    let newB: number;
    let newA: number;
    let row: number[];
    switch (sheet) {
      case "basic SGD": {
        const errb1 = (b + 0.01 + x * a - y) ** 2;
        const erra1 = ((a + 0.01) * x + b - y) ** 2;
        const dbSheet = 2 * (pred - y);
        const daSheet = dbSheet * x;
        newA = sgdStep(a, daSheet, state.lr);
        newB = sgdStep(b, dbSheet, state.lr);
        row = [
          x,
          y,
          b,
          a,
          pred,
          (y - pred) ** 2,
          errb1,
          (errb1 - (y - pred) ** 2) / 0.01,
          erra1,
          (erra1 - (y - pred) ** 2) / 0.01,
          dbSheet,
          daSheet,
          newA,
          newB,
        ];
        break;
      }
      case "momentum":
      case "rmsprop": {
        // one carried average per parameter (momentum's m, rmsprop's s), shown in the last two columns
        const carried = averagedStep(
          sheet,
          b,
          a,
          db,
          da,
          sheet === "momentum" ? m! : s!,
          state.lr,
          k.beta!,
        );
        if (sheet === "momentum") m = carried.avg;
        else s = carried.avg;
        [newB, newA] = [carried.newB, carried.newA];
        row = [x, y, b, a, pred, db, da, newB, newA, carried.avg[0], carried.avg[1]];
        break;
      }
      case "adagrad":
      case "adagrad_ann": {
        newB = workbookAdagradStep(b, db, state.lr, gScale![0]);
        newA = workbookAdagradStep(a, da, state.lr, gScale![1]);
        row =
          sheet === "adagrad"
            ? [x, y, b, a, pred, db, da, newB, newA]
            : [x, y, b, a, pred, db, da, newA, newB];
        break;
      }
      case "adam":
      case "adam_ann":
      case "eve": {
        const sb = workbookAdamStep(b, db, m![0], s![0], state.lr, k.beta1!, k.beta2!, dt ?? 1);
        if (sheet === "adam_ann" && options.workbookTypo && i === 1) {
          // J5 reads an empty cell instead of F5: the momentum averages in 0; L5 (squared) is unaffected
          sb.m = m![0] * k.beta1! + (1 - k.beta1!) * 0;
          sb.p = b - (sb.m * state.lr) / Math.sqrt(sb.s);
        }
        const sa = workbookAdamStep(a, da, m![1], s![1], state.lr, k.beta1!, k.beta2!, dt ?? 1);
        m = [sb.m, sa.m];
        s = [sb.s, sa.s];
        newB = sb.p;
        newA = sa.p;
        row =
          sheet === "eve"
            ? [x, y, b, a, pred, (pred - y) ** 2, db, da, newB, newA, m[0], m[1], s[0], s[1]]
            : [x, y, b, a, pred, db, da, newB, newA, m[0], m[1], s[0], s[1]];
        break;
      }
    }
    rows.push(row);
    last = { b, a, newB, newA, m, s };
    b = newB;
    a = newA;
  }
  const calc: SheetCalc = {
    columns: sheetColumns(sheet),
    rows,
    loss: Math.sqrt(sumErr2),
    last,
    r,
    dt,
  };
  if (sheet === "adagrad" || sheet === "adagrad_ann" || sheet === "adam_ann")
    calc.g = [adagradScale(dbs), adagradScale(das)];
  if (sheet === "adagrad_ann") calc.sum = calc.g![0] * stepB + calc.g![1] * stepA;
  if (sheet === "adam_ann") {
    const carried = need(state.s, "s", sheet);
    calc.avgGrad2 = Math.sqrt(carried[0]) + Math.sqrt(carried[1]);
    calc.gradRatio = calc.avgGrad2 / need(state.prevGrad2, "prevGrad2", sheet);
  }
  return calc;
}
