/**
 * plotly charts as HTML outputs that draw in JupyterLab, the classic Notebook and exported HTML
 * opened offline: plotly.js is embedded from the npm package once per kernel session.
 */
import * as fs from "fs";
import { randomBytes } from "crypto";
import { show, type MimeBundle } from "./show";

/** A plotly figure: traces, layout, config and optional animation frames (plotly.js's own JSON). */
export interface Figure {
  data: Array<Record<string, unknown>>;
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
  frames?: Array<Record<string, unknown>>;
}

/**
 * Which execution's output carries plotly.js: the notebook cell's id (JupyterLab and Notebook 7
 * send it with each request) and the kernel's count of executions. Null: none yet.
 */
interface Carrier {
  cellId: string | null;
  execution: number;
}
// On globalThis: the kernel's rich results load lib through its real path, notebooks through
// ./lib, and both must agree on whether the page has plotly.js.
const STATE = Symbol.for("lesson4-ts.plotly-carrier");
const state = ((globalThis as Record<symbol, unknown>)[STATE] ??= { carrier: null }) as {
  carrier: Carrier | null;
};

/** What the project's kernel shares about the running cell (kernel/launch.cjs). */
interface RunningCell {
  cellId: string | null;
  execution: number;
  deletedCells: string[];
}

function runningCell(): RunningCell | null {
  return (
    ((globalThis as Record<symbol, unknown>)[
      Symbol.for("lesson4-ts.running-cell")
    ] as RunningCell) ?? null
  );
}

/**
 * Whether the next chart must carry plotly.js: none has yet, or the cell whose output carried it
 * is running again or was deleted (the front end clears that output, and the library with it).
 */
function libraryMissing(): boolean {
  const carrier = state.carrier;
  if (!carrier) return true;
  const cell = runningCell();
  if (!cell || !carrier.cellId) return false;
  if (cell.deletedCells.includes(carrier.cellId)) return true;
  return cell.cellId === carrier.cellId && cell.execution !== carrier.execution;
}

/** plotly.js, minified, wrapped so AMD loaders (the classic Notebook's require.js) do not capture it. */
function plotlyLibraryScript(): string {
  const source = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  return `<script type="text/javascript">(function(){var define=undefined,module=undefined,exports=undefined;\n${source.replace(/<\/script/gi, "<\\/script")}\n})();</script>`;
}

/** Forces the next chart to embed plotly.js again (after a page reload, for example). */
export function resetPlotlyEmbedding(): void {
  state.carrier = null;
}

/** The MIME bundle of a figure: HTML that draws it, plotly's own JSON type, and a text summary. */
export function figureBundle(
  figure: Figure,
  options: { height?: number; embedLibrary?: boolean } = {},
): MimeBundle {
  const embed = options.embedLibrary ?? libraryMissing();
  if (embed) {
    const cell = runningCell();
    state.carrier = { cellId: cell?.cellId ?? null, execution: cell?.execution ?? 0 };
  }
  const id = `lesson4-plot-${randomBytes(6).toString("hex")}`;
  const height = options.height ?? (figure.layout?.height as number | undefined) ?? 420;
  const json = JSON.stringify({
    data: figure.data,
    layout: figure.layout ?? {},
    config: { responsive: true, ...(figure.config ?? {}) },
    frames: figure.frames ?? [],
  }).replace(/<\//g, "<\\/");
  const draw = `<script type="text/javascript">(function(){var f=${json};var tries=0;function draw(){var el=document.getElementById(${JSON.stringify(id)});if(window.Plotly&&el){window.Plotly.newPlot(el,f.data,f.layout,f.config).then(function(){if(f.frames.length)window.Plotly.addFrames(el,f.frames);});}else if(tries++<400){setTimeout(draw,25);}}draw();})();</script>`;
  const html = `<div id="${id}" class="lesson4-plot" style="width:100%;height:${height}px;"></div>${embed ? plotlyLibraryScript() : ""}${draw}`;
  const title = (figure.layout?.title as { text?: string } | string | undefined) ?? "";
  const titleText = typeof title === "string" ? title : (title.text ?? "");
  return {
    "text/html": html,
    "application/vnd.plotly.v1+json": {
      data: figure.data,
      layout: figure.layout ?? {},
      config: figure.config ?? {},
    },
    "text/plain": `<plotly figure${titleText ? ` "${titleText}"` : ""}: ${figure.data.length} trace(s)>`,
  };
}

/** Draws a figure in the notebook. */
export function plot(figure: Figure, options: { height?: number } = {}): void {
  show(figureBundle(figure, options));
}
