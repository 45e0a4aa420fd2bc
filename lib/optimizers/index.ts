/**
 * The optimizers lesson's library: from-scratch update rules, the gradient-descent workbook
 * simulator (`simulateSheet`, and `WorkbookSheet` for reset / one epoch / run cells), and Eve,
 * Adam-with-annealing and a learning-rate annealing callback for tfjs models.
 */
import { onestep, resetState, savedState } from "./buttons";
import {
  calculateSheet,
  SHEET_NAMES,
  type CalcOptions,
  type SheetCalc,
  type SheetName,
  type SheetState,
} from "./workbook";

export * from "./rules";
export {
  SHEET_NAMES,
  sheetColumns,
  sheetConstants,
  calculateSheet,
  type SheetName,
  type SheetState,
  type SheetCalc,
  type Column,
  type Pair,
  type CalcOptions,
  type SheetConstants,
} from "./workbook";
export { savedState, resetState, onestep, type StepResult } from "./buttons";
export { GRADDESC_XY } from "./workbook-fixture";
export { Eve, eve, type EveConfig } from "./tf-eve";
export { AdamAnnealing, adamAnnealing, type AdamAnnealingConfig } from "./tf-adam-annealing";
export { AdamLikeOptimizer, type AdamLikeConfig, type NamedTensor } from "./tf-adam-like";
export {
  LearningRateAnnealer,
  getLearningRate,
  setLearningRate,
  type LearningRateAnnealerArgs,
  type AnnealerRecord,
} from "./tf-annealer";
export {
  standardComparisons,
  compareStepByStep,
  type Comparison,
  type ComparedStep,
  type LibStep,
} from "./compare-tfjs";
export { generateDigits, digitTensors, type DigitSet } from "./digits";
export {
  race,
  raceModel,
  raceFigure,
  smooth,
  type Contender,
  type RaceData,
  type RaceOptions,
  type RaceResult,
} from "./race";

/** One epoch of a simulation: the start values after the copy-back (and the lr check), and the pass's loss. */
export interface EpochRecord {
  epoch: number;
  a: number;
  b: number;
  lr: number;
  /** sqrt(sum of squared errors) over the epoch's 29 steps (the workbook's F33 "rmse"). */
  loss: number;
}

/** Where a simulation starts: the reset button's state, the workbook's saved state, or your own. */
export type StartOption = "reset" | "saved" | SheetState;

export interface SimulateOptions extends CalcOptions {
  epochs: number;
  start?: StartOption;
  /** Overrides the start state's learning rate. */
  lr?: number;
}

export interface SimulationResult {
  sheet: SheetName;
  start: SheetState;
  epochs: EpochRecord[];
  /** The table of the last epoch (one row per step, the sheet's columns), or of the start state for 0 epochs. */
  table: Array<Record<string, number>>;
  /** The state after the last epoch. */
  state: SheetState;
}

/** Throws unless `sheet` is one of the workbook's optimizer sheets. */
export function checkSheet(sheet: string): SheetName {
  if (!(SHEET_NAMES as readonly string[]).includes(sheet)) {
    throw new Error(
      `Unknown sheet ${JSON.stringify(sheet)}: valid sheets are ${SHEET_NAMES.map((s) => JSON.stringify(s)).join(", ")}.`,
    );
  }
  return sheet as SheetName;
}

function checkLr(lr: number): void {
  if (typeof lr !== "number" || !Number.isFinite(lr) || lr <= 0)
    throw new Error(`Learning rate ${lr} is not valid: it must be a finite number greater than 0.`);
}

/** The rows of a calculation as records keyed by the sheet's column headers. */
export function tableOf(calc: SheetCalc): Array<Record<string, number>> {
  return calc.rows.map((row) => Object.fromEntries(calc.columns.map((c, i) => [c.header, row[i]])));
}

/** The start state named by `start` (a copy). */
export function startState(
  sheet: SheetName,
  start: StartOption = "reset",
  options: CalcOptions = {},
): SheetState {
  if (start === "reset") return resetState(sheet, savedState(sheet), options);
  if (start === "saved") return savedState(sheet);
  if (typeof start !== "object" || start === null)
    throw new Error(
      `start must be "reset", "saved" or a state object, not ${JSON.stringify(start)}.`,
    );
  return JSON.parse(JSON.stringify(start)) as SheetState;
}

/**
 * Runs a sheet for `epochs` onesteps (the run button is five) from `start`, returning one record
 * per epoch and the last epoch's table.
 */
export function simulateSheet(sheetName: string, options: SimulateOptions): SimulationResult {
  const sheet = checkSheet(sheetName);
  const { epochs } = options;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new Error(`epochs must be a whole number >= 0 (0, 1, 5, ...), not ${epochs}.`);
  const start = startState(sheet, options.start, options);
  if (options.lr !== undefined) {
    checkLr(options.lr);
    start.lr = options.lr;
  }
  checkLr(start.lr);
  let state = start;
  let calc = calculateSheet(sheet, state, options);
  const records: EpochRecord[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const step = onestep(sheet, state, options);
    calc = step.calc;
    state = step.state;
    records.push({ epoch, a: state.a, b: state.b, lr: state.lr, loss: step.calc.loss });
  }
  return { sheet, start, epochs: records, table: tableOf(calc), state };
}

/**
 * One sheet with its buttons, for notebook cells the reader re-executes: `reset()`, `onestep()`,
 * `run()` (five onesteps), a settable learning rate, and the history of epochs since the reset.
 */
export class WorkbookSheet {
  readonly sheet: SheetName;
  state: SheetState;
  history: EpochRecord[] = [];
  private readonly options: CalcOptions;

  constructor(sheet: string, start: StartOption = "reset", options: CalcOptions = {}) {
    this.sheet = checkSheet(sheet);
    this.options = options;
    this.state = startState(this.sheet, start, options);
  }

  /** The reset button. */
  reset(): this {
    this.state = resetState(this.sheet, this.state, this.options);
    this.history = [];
    return this;
  }

  /** Sets the learning-rate cell. */
  setLearningRate(lr: number): this {
    checkLr(lr);
    this.state = { ...this.state, lr };
    return this;
  }

  /** One epoch (the onestep macro). */
  onestep(): this {
    const step = onestep(this.sheet, this.state, this.options);
    this.state = step.state;
    this.history.push({
      epoch: this.history.length + 1,
      a: step.state.a,
      b: step.state.b,
      lr: step.state.lr,
      loss: step.calc.loss,
    });
    return this;
  }

  /** The run button: five epochs. */
  run(times = 5): this {
    for (let i = 0; i < times; i++) this.onestep();
    return this;
  }

  /** The sheet as it is now calculated: its table rows. */
  table(): Array<Record<string, number>> {
    return tableOf(calculateSheet(this.sheet, this.state, this.options));
  }

  /** The current calculation. */
  calc(): SheetCalc {
    return calculateSheet(this.sheet, this.state, this.options);
  }
}
