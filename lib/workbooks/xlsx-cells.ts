/**
 * Reads cells of the lesson's Excel workbooks (cached values, by A1 reference) for the fixture
 * extraction script and the conformance tests; needs the `xlsx` dev dependency, so notebooks
 * never import it.
 */
import * as path from "path";

/** One worksheet's cells: the cached value (number, string or undefined) and the formula text. */
export interface SheetCells {
  value(ref: string): unknown;
  number(ref: string): number;
  formula(ref: string): string | undefined;
}

/** An opened workbook: its sheet names and their cells. */
export interface Workbook {
  sheetNames: string[];
  sheet(name: string): SheetCells;
}

/** Opens `file` with the `xlsx` package (loaded lazily, so merely importing this costs nothing). */
export function openWorkbook(file: string): Workbook {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const XLSX = require("xlsx") as typeof import("xlsx");
  const wb = XLSX.readFile(file, { cellFormula: true });
  return {
    sheetNames: wb.SheetNames,
    sheet(name: string): SheetCells {
      const ws = wb.Sheets[name];
      if (!ws)
        throw new Error(
          `${path.basename(file)} has no sheet ${JSON.stringify(name)}; sheets: ${wb.SheetNames.join(", ")}`,
        );
      const cell = (ref: string) => ws[ref] as { v?: unknown; f?: string } | undefined;
      return {
        value: (ref) => cell(ref)?.v,
        formula: (ref) => cell(ref)?.f,
        number(ref) {
          const v = cell(ref)?.v;
          if (typeof v !== "number")
            throw new Error(
              `${path.basename(file)} ${name}!${ref} is not a number (${JSON.stringify(v)})`,
            );
          return v;
        },
      };
    },
  };
}

/** Converts a 0-based column index to letters (0 -> A, 27 -> AB). */
export function columnName(index: number): string {
  let s = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** Converts column letters to a 0-based index (A -> 0, AB -> 27). */
export function columnIndex(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/** A rectangle of cached numbers (empty cells read as 0, as Excel's SUM/SUMPRODUCT treat them). */
export function numberGrid(
  sheet: SheetCells,
  topLeft: string,
  rows: number,
  cols: number,
  step = 1,
): number[][] {
  const m = /^([A-Z]+)(\d+)$/.exec(topLeft);
  if (!m) throw new Error(`bad cell reference ${topLeft}`);
  const c0 = columnIndex(m[1]);
  const r0 = Number(m[2]);
  return Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => {
      const v = sheet.value(`${columnName(c0 + j * step)}${r0 + i * step}`);
      return typeof v === "number" ? v : 0;
    }),
  );
}
