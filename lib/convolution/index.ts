/**
 * The convolution-in-Excel workbook (conv-example.xlsx) rebuilt: the same layers with tfjs ops
 * (for the pictures) and in float64 plain arithmetic (to match Excel's cells exactly), plus
 * heatmap figures of every stage.
 */
import * as tf from "@tensorflow/tfjs";
import type { Figure } from "../display/index";
import { CONV_EXAMPLE } from "./conv-fixture";

type Grid = number[][];

/** The network's numbers: input digit, Conv1 filters [k], Conv2 filters [k][channel], dense weights [channel]. */
export interface ConvNet {
  input: Grid;
  conv1: Grid[];
  conv2: Grid[][];
  dense: Grid[];
}

/** Every stage's output: two 26x26 maps, two 24x25 maps, two 12x13 pooled maps, one activation. */
export interface ConvStages {
  conv1: Grid[];
  conv2: Grid[];
  pool: Grid[];
  activation: number;
}

/** A deep copy of the workbook's numbers, safe to edit. */
export function workbookNet(): ConvNet {
  const { input, conv1, conv2, dense } = CONV_EXAMPLE;
  return JSON.parse(JSON.stringify({ input, conv1, conv2, dense })) as ConvNet;
}

/** The dense activation the workbook shows (cell EN4, cached by Excel). */
export const WORKBOOK_EN4: number = CONV_EXAMPLE.en4;

const at = (g: Grid, i: number, j: number) => (i < g.length && j < g[i].length ? g[i][j] : 0);

/**
 * The workbook's cell formulas in float64: Conv1 `SUM(patch*filter)` (valid, 26x26); Conv2 sums
 * both Conv1 maps, reading one empty (zero) column past the right edge (24x25); Maxpool = MAX of
 * 2x2 blocks (the last column's blocks are 1 wide); Dense = SUMPRODUCT over both channels.
 */
export function forwardExact(net: ConvNet): ConvStages {
  const conv1 = net.conv1.map((f) =>
    Array.from({ length: 26 }, (_, i) =>
      Array.from({ length: 26 }, (_, j) => {
        let s = 0;
        for (let u = 0; u < 3; u++)
          for (let v = 0; v < 3; v++) s += net.input[i + u][j + v] * f[u][v];
        return s;
      }),
    ),
  );
  const conv2 = net.conv2.map((fs) =>
    Array.from({ length: 24 }, (_, i) =>
      Array.from({ length: 25 }, (_, j) => {
        let total = 0;
        fs.forEach((f, c) => {
          let s = 0;
          for (let u = 0; u < 3; u++)
            for (let v = 0; v < 3; v++) s += at(conv1[c], i + u, j + v) * f[u][v];
          total += s;
        });
        return total;
      }),
    ),
  );
  const pool = conv2.map((m) =>
    Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: 13 }, (_, j) => {
        const cells = [m[2 * i][2 * j], m[2 * i + 1][2 * j]];
        if (2 * j + 1 < 25) cells.push(m[2 * i][2 * j + 1], m[2 * i + 1][2 * j + 1]);
        return Math.max(...cells);
      }),
    ),
  );
  let activation = 0;
  pool.forEach((p, c) =>
    p.forEach((row, i) => row.forEach((v, j) => (activation += v * net.dense[c][i][j]))),
  );
  return { conv1, conv2, pool, activation };
}

/** Channels-last tensor [1, h, w, c] from maps [c][h][w]. */
function toNhwc(maps: Grid[]): tf.Tensor4D {
  return tf.tidy(
    () =>
      tf
        .stack(
          maps.map((m) => tf.tensor2d(m)),
          2,
        )
        .expandDims(0) as tf.Tensor4D,
  );
}

/** Maps [c][h][w] from a [1, h, w, c] tensor. */
function fromNhwc(t: tf.Tensor): Grid[] {
  const [, h, w, c] = t.shape as number[];
  const data = t.dataSync();
  return Array.from({ length: c }, (_, k) =>
    Array.from({ length: h }, (_, i) =>
      Array.from({ length: w }, (_, j) => data[(i * w + j) * c + k]),
    ),
  );
}

/**
 * The same network as tfjs ops (float32): conv2d valid, zero-pad one column on the right,
 * conv2d valid over both channels, maxPool 2x2 stride 2 'same', then a weighted sum.
 */
export function forwardTf(net: ConvNet): ConvStages {
  return tf.tidy(() => {
    const x = tf.tensor4d(net.input.flat(), [1, 28, 28, 1]);
    // filters as [3, 3, in, out]
    const w1 = tf
      .stack(
        net.conv1.map((f) => tf.tensor2d(f)),
        2,
      )
      .expandDims(2) as tf.Tensor4D;
    const w2 = tf.stack(
      net.conv2.map((fs) =>
        tf.stack(
          fs.map((f) => tf.tensor2d(f)),
          2,
        ),
      ),
      3,
    ) as tf.Tensor4D;
    const c1 = tf.conv2d(x, w1, 1, "valid");
    const c2 = tf.conv2d(
      tf.pad(c1, [
        [0, 0],
        [0, 0],
        [0, 1],
        [0, 0],
      ]),
      w2,
      1,
      "valid",
    );
    const p = tf.maxPool(c2, 2, 2, "same");
    const act = p.mul(toNhwc(net.dense)).sum();
    return {
      conv1: fromNhwc(c1),
      conv2: fromNhwc(c2),
      pool: fromNhwc(p),
      activation: act.dataSync()[0],
    };
  });
}

/** A row of heatmaps (image orientation: row 0 at the top), optionally with small filter heatmaps annotated with their values. */
export function heatmapsFigure(
  title: string,
  maps: Array<{ name: string; grid: Grid; annotate?: boolean }>,
  height = 340,
): Figure {
  const n = maps.length;
  const gap = 0.04;
  const width = (1 - gap * (n - 1)) / n;
  const data: Array<Record<string, unknown>> = [];
  const layout: Record<string, unknown> = {
    title: { text: title },
    height,
    margin: { t: 60, b: 20, l: 20, r: 20 },
    annotations: [] as unknown[],
  };
  maps.forEach((m, k) => {
    const ax = k === 0 ? "" : String(k + 1);
    data.push({
      z: m.grid,
      type: "heatmap",
      colorscale: "RdBu",
      reversescale: true,
      zmid: 0,
      showscale: false,
      xaxis: `x${ax}`,
      yaxis: `y${ax}`,
      name: m.name,
      hovertemplate: "row %{y}, col %{x}: %{z}<extra></extra>",
    });
    if (m.annotate)
      data.push({
        z: m.grid,
        type: "heatmap",
        opacity: 0,
        showscale: false,
        texttemplate: "%{z:.3f}",
        xaxis: `x${ax}`,
        yaxis: `y${ax}`,
        hoverinfo: "skip",
      });
    layout[`xaxis${ax}`] = {
      domain: [k * (width + gap), k * (width + gap) + width],
      showticklabels: false,
      constrain: "domain",
    };
    layout[`yaxis${ax}`] = { autorange: "reversed", showticklabels: false, scaleanchor: `x${ax}` };
    (layout.annotations as unknown[]).push({
      text: m.name,
      x: k * (width + gap) + width / 2,
      y: 1.02,
      xref: "paper",
      yref: "paper",
      showarrow: false,
      yanchor: "bottom",
    });
  });
  return { data, layout };
}
