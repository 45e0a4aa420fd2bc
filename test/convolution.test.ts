/** The conv-example rebuild: float64 stages against the workbook's cells, and tfjs against float64. */
import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { readConfig } from "../lib/config";
import { openWorkbook, columnName, columnIndex } from "../lib/workbooks/xlsx-cells";
import { WORKBOOK_DIR } from "../scripts/extract-workbook-fixtures";
import { forwardExact, forwardTf, workbookNet } from "../lib/convolution/index";

const sources = readConfig().sourcesDir;
const file = sources ? path.join(sources, WORKBOOK_DIR, "conv-example.xlsx") : null;
const available = file !== null && fs.existsSync(file);
if (!available)
  console.log(
    `conv-example conformance skipped: ${file ? `${file} not found` : "LESSON4_SOURCES_DIR is not set"}`,
  );
const rel = (got: number, want: number) => Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);

describe.skipIf(!available)("conv-example.xlsx conformance", () => {
  it("every stage matches the cached cells, and the dense activation equals EN4 to 1e-9", () => {
    const ws = openWorkbook(file!).sheet("conv-example");
    const s = forwardExact(workbookNet());
    const check = (grids: number[][][], corners: string[], step = 1) => {
      let worst = 0;
      grids.forEach((g, k) => {
        const m = /^([A-Z]+)(\d+)$/.exec(corners[k])!;
        g.forEach((row, i) =>
          row.forEach((v, j) => {
            const want = ws.number(
              `${columnName(columnIndex(m[1]) + j * step)}${Number(m[2]) + i * step}`,
            );
            expect(Math.abs(v - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
            worst = Math.max(worst, Math.abs(v - want) / Math.max(1, Math.abs(want)));
          }),
        );
      });
      return worst;
    };
    console.log(
      "conv1",
      check(s.conv1, ["AH3", "AH32"]),
      "conv2",
      check(s.conv2, ["BM4", "BM33"]),
      "pool",
      check(s.pool, ["CM4", "CM33"], 2),
    );
    const en4 = ws.number("EN4");
    console.log(
      `activation ${s.activation} vs EN4 ${en4}: relative error ${rel(s.activation, en4)}`,
    );
    expect(rel(s.activation, en4)).toBeLessThanOrEqual(1e-9);
  });
});

describe("tfjs ops", () => {
  it("reproduce the float64 stages to float32 precision, and follow an edited filter", async () => {
    const net = workbookNet();
    const exact = forwardExact(net);
    const viaTf = forwardTf(net);
    expect(viaTf.conv2[1]).toHaveLength(24);
    expect(viaTf.conv2[1][0]).toHaveLength(25);
    expect(viaTf.pool[0][0]).toHaveLength(13);
    expect(rel(viaTf.activation, exact.activation)).toBeLessThan(1e-5);
    net.conv1[0] = [
      [1, 1, 1],
      [0, 0, 0],
      [-1, -1, -1],
    ];
    const edited = forwardExact(net);
    expect(edited.activation).not.toBeCloseTo(exact.activation, 3);
    expect(rel(forwardTf(net).activation, edited.activation)).toBeLessThan(1e-4);
  });
});
