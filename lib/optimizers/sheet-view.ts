/**
 * Shows a workbook sheet the way Excel does: the start cells above the table, then one row per
 * step with the sheet's columns, then the epochs run since the last reset.
 */
import { markdown, table } from "../display/index";
import type { WorkbookSheet } from "./index";
import type { SheetState } from "./workbook";

/** The start cells of a state as label -> value records (what sits above the sheet's table). */
export function startCells(state: SheetState): Array<{ cell: string; value: number }> {
  const cells: Array<{ cell: string; value: number }> = [
    { cell: "b (intercept)", value: state.b },
    { cell: "a (slope)", value: state.a },
    { cell: "learning rate", value: state.lr },
  ];
  const add = (name: string, v: number | undefined) =>
    v !== undefined && cells.push({ cell: name, value: v });
  add("carried m de/db", state.m?.[0]);
  add("carried m de/da", state.m?.[1]);
  add("carried s de/db", state.s?.[0]);
  add("carried s de/da", state.s?.[1]);
  add("G de/db (F1)", state.g?.[0]);
  add("G de/da (G1)", state.g?.[1]);
  add("f_1 (last loss)", state.f1);
  add("f_2 (loss before)", state.f2);
  add("d_{t-1}", state.d1);
  add("previous sum (J1)", state.prevSum);
  add("prev_grad2 (N3)", state.prevGrad2);
  return cells;
}

/** Displays the sheet: start cells, the 29-row table as now calculated, and the epoch history. */
export function showSheet(sheet: WorkbookSheet, options: { rows?: number } = {}): void {
  const calc = sheet.calc();
  markdown(
    `**${sheet.sheet}** after ${sheet.history.length} epoch(s) since reset · this pass's loss sqrt(Σ err²) = ${calc.loss.toPrecision(6)}`,
  );
  table(startCells(sheet.state), { caption: "start cells", digits: 6 });
  table(sheet.table(), {
    caption: `${sheet.sheet}: one row per step`,
    maxRows: options.rows ?? 29,
    digits: 4,
  });
  if (sheet.history.length)
    table(sheet.history.slice(-10), {
      caption: "epochs since reset (last 10): start values after each copy-back",
      digits: 6,
    });
}
