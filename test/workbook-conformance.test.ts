/**
 * The workbook simulator against graddesc.xlsx's cached values: from each sheet's saved state,
 * one pass reproduces every numeric cell of rows 4-32. Needs the workbook (LESSON4_SOURCES_DIR).
 */
import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { readConfig } from "../lib/config";
import { openWorkbook, columnName, type Workbook } from "../lib/workbooks/xlsx-cells";
import { graddescSavedState, WORKBOOK_DIR } from "../scripts/extract-workbook-fixtures";
import {
  calculateSheet,
  SHEET_NAMES,
  simulateSheet,
  savedState,
  type SheetName,
  type SheetState,
} from "../lib/optimizers/index";

const sources = readConfig().sourcesDir;
const file = sources ? path.join(sources, WORKBOOK_DIR, "graddesc.xlsx") : null;
const available = file !== null && fs.existsSync(file);
if (!available)
  console.log(
    `workbook conformance skipped: ${file ? `${file} not found` : "LESSON4_SOURCES_DIR is not set"} (set it to a folder holding ${WORKBOOK_DIR}/graddesc.xlsx)`,
  );

const relErr = (got: number, want: number) =>
  want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);

describe.skipIf(!available)("graddesc.xlsx conformance", () => {
  const wb: Workbook = available ? openWorkbook(file!) : (null as unknown as Workbook);
  const fromXlsx = available ? graddescSavedState(wb) : null;

  it("the committed fixture holds the workbook's saved state", () => {
    for (const sheet of SHEET_NAMES)
      expect(savedState(sheet), sheet).toEqual(fromXlsx![sheet].state);
  });

  it.each(SHEET_NAMES.map((s) => [s]))(
    "%s: one pass from the saved state matches every cached cell of rows 4-32 to 1e-9",
    (sheet) => {
      const name = sheet as SheetName;
      const ws = wb.sheet(name);
      const calc = calculateSheet(name, fromXlsx![name].state as SheetState, {
        workbookTypo: name === "adam_ann",
      });
      let cells = 0;
      let worst = 0;
      for (let r = 4; r <= 32; r++) {
        for (let c = 0; c < 26; c++) {
          const ref = `${columnName(c)}${r}`;
          const want = ws.value(ref);
          if (typeof want !== "number") continue;
          expect(c, `${name}!${ref} has a value but no column in the simulator`).toBeLessThan(
            calc.columns.length,
          );
          const got = calc.rows[r - 4][c];
          const e = relErr(got, want);
          worst = Math.max(worst, e);
          expect(e, `${name}!${ref}: got ${got}, workbook ${want}`).toBeLessThanOrEqual(1e-9);
          cells++;
        }
      }
      console.log(`${name}: ${cells} cells, max relative error ${worst.toExponential(2)}`);
      expect(cells).toBe(29 * calc.columns.length);
    },
  );

  it("cells below the table agree where the workbook caches them", () => {
    const loss = (sheet: SheetName, ref: string) =>
      expect(
        relErr(
          calculateSheet(sheet, fromXlsx![sheet].state as SheetState).loss,
          wb.sheet(sheet).number(ref),
        ),
      ).toBeLessThan(1e-9);
    loss("basic SGD", "F33");
    loss("eve", "F33");
    for (const sheet of ["adagrad", "adagrad_ann"] as const) {
      const calc = calculateSheet(sheet, fromXlsx![sheet].state as SheetState);
      expect(relErr(calc.g![0], wb.sheet(sheet).number("F33"))).toBeLessThan(1e-9);
      expect(relErr(calc.g![1], wb.sheet(sheet).number("G33"))).toBeLessThan(1e-9);
    }
    const ann = calculateSheet("adagrad_ann", fromXlsx!.adagrad_ann.state as SheetState);
    expect(relErr(ann.sum!, wb.sheet("adagrad_ann").number("H33"))).toBeLessThan(1e-9);
    const eve = calculateSheet("eve", fromXlsx!.eve.state as SheetState);
    expect(relErr(eve.dt!, wb.sheet("eve").number("F38"))).toBeLessThan(1e-9);
    const adamAnn = calculateSheet("adam_ann", fromXlsx!.adam_ann.state as SheetState);
    expect(relErr(adamAnn.avgGrad2!, wb.sheet("adam_ann").number("N33"))).toBeLessThan(1e-9);
    expect(relErr(adamAnn.gradRatio!, wb.sheet("adam_ann").number("N34"))).toBeLessThan(1e-9);
  });

  it("momentum: reset + run (5 epochs) reproduces the saved start values C1, C2", () => {
    const ws = wb.sheet("momentum");
    const run = simulateSheet("momentum", { epochs: 5, start: "reset" });
    const end = run.epochs[4];
    console.log(
      `momentum reset+5: b ${end.b} (C1 ${ws.number("C1")}), a ${end.a} (C2 ${ws.number("C2")})`,
    );
    expect(relErr(end.b, ws.number("C1"))).toBeLessThan(1e-9);
    expect(relErr(end.a, ws.number("C2"))).toBeLessThan(1e-9);
    expect(relErr(run.state.m![0], ws.number("J33"))).toBeLessThan(1e-9);
    expect(relErr(run.state.m![1], ws.number("K33"))).toBeLessThan(1e-9);
  });
});
