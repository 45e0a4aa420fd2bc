/**
 * plotly figures comparing the workbook's optimizers: loss per epoch (log scale), (a, b)
 * trajectories over the loss surface, and a learning-rate slider made of precomputed frames.
 */
import type { Figure } from "../display/index";
import { simulateSheet, SHEET_NAMES, type SimulationResult } from "./index";
import { GRADDESC_XY } from "./workbook-fixture";
import type { SheetName } from "./workbook";

/** sqrt(sum of squared errors) of y = a x + b over the workbook's 29 rows. */
export function workbookLoss(a: number, b: number): number {
  let sum = 0;
  for (let i = 0; i < GRADDESC_XY.x.length; i++)
    sum += (a * GRADDESC_XY.x[i] + b - GRADDESC_XY.y[i]) ** 2;
  return Math.sqrt(sum);
}

const finite = (v: number) => (Number.isFinite(v) && Math.abs(v) < 1e12 ? v : null);

/** Runs every sheet from reset for `epochs` epochs. */
export function runAll(epochs: number, lrScale = 1): Record<SheetName, SimulationResult> {
  const out = {} as Record<SheetName, SimulationResult>;
  for (const sheet of SHEET_NAMES) {
    const base = simulateSheet(sheet, { epochs: 0 }).start.lr;
    out[sheet] = simulateSheet(sheet, { epochs, lr: base * lrScale });
  }
  return out;
}

/** Loss per epoch of every run on one chart, log scale. */
export function lossFigure(
  runs: Record<string, SimulationResult>,
  title = "loss per epoch (sqrt of the sum of squared errors)",
): Figure {
  return {
    data: Object.entries(runs).map(([name, run]) => ({
      x: run.epochs.map((e) => e.epoch),
      y: run.epochs.map((e) => finite(e.loss)),
      type: "scatter",
      mode: "lines",
      name,
    })),
    layout: {
      title: { text: title },
      xaxis: { title: { text: "epoch" } },
      yaxis: { title: { text: "loss" }, type: "log" },
      height: 440,
    },
  };
}

/** The (a, b) path of every run (start, then each epoch) over a contour plot of log10(loss). */
export function trajectoryFigure(
  runs: Record<string, SimulationResult>,
  grid = { a: [0, 3.5] as [number, number], b: [-10, 40] as [number, number], n: 80 },
): Figure {
  const as = Array.from(
    { length: grid.n },
    (_, i) => grid.a[0] + ((grid.a[1] - grid.a[0]) * i) / (grid.n - 1),
  );
  const bs = Array.from(
    { length: grid.n },
    (_, i) => grid.b[0] + ((grid.b[1] - grid.b[0]) * i) / (grid.n - 1),
  );
  const z = bs.map((b) => as.map((a) => Math.log10(workbookLoss(a, b))));
  const paths = Object.entries(runs).map(([name, run]) => ({
    x: [run.start.a, ...run.epochs.map((e) => finite(e.a))],
    y: [run.start.b, ...run.epochs.map((e) => finite(e.b))],
    type: "scatter",
    mode: "lines+markers",
    marker: { size: 4 },
    name,
  }));
  return {
    data: [
      {
        x: as,
        y: bs,
        z,
        type: "contour",
        colorscale: "Greys",
        reversescale: true,
        showscale: true,
        colorbar: { title: { text: "log10 loss" } },
        name: "loss surface",
        ncontours: 25,
      },
      ...paths,
    ],
    layout: {
      title: { text: "(a, b) after each epoch, over the loss surface" },
      xaxis: { title: { text: "a (slope)" }, range: grid.a },
      yaxis: { title: { text: "b (intercept)" }, range: grid.b },
      height: 560,
    },
  };
}

/** A loss chart with a slider over learning-rate multipliers; every frame is precomputed. */
export function learningRateSliderFigure(epochs: number, scales: number[]): Figure {
  const frames = scales.map((scale) => {
    const fig = lossFigure(runAll(epochs, scale));
    return { name: `x${scale}`, data: fig.data };
  });
  const start = Math.max(0, scales.indexOf(1));
  const base = lossFigure(
    runAll(epochs, scales[start]),
    "loss per epoch; slider: every sheet's learning rate times a factor",
  );
  const all = frames.flatMap((f) =>
    f.data.flatMap((t) =>
      (t.y as Array<number | null>).filter((v): v is number => v !== null && v > 0),
    ),
  );
  const lo = Math.log10(Math.min(...all));
  const hi = Math.min(Math.log10(Math.max(...all)), lo + 8);
  return {
    data: base.data,
    frames,
    layout: {
      ...base.layout,
      yaxis: { title: { text: "loss" }, type: "log", range: [lo - 0.1, hi + 0.1] },
      sliders: [
        {
          active: start,
          currentvalue: { prefix: "learning rate x " },
          steps: scales.map((scale) => ({
            label: String(scale),
            method: "animate",
            args: [
              [`x${scale}`],
              {
                mode: "immediate",
                frame: { duration: 0, redraw: true },
                transition: { duration: 0 },
              },
            ],
          })),
        },
      ],
      height: 520,
    },
  };
}
