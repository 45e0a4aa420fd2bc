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

let libraryEmbedded = false;

/** plotly.js, minified, wrapped so AMD loaders (the classic Notebook's require.js) do not capture it. */
function plotlyLibraryScript(): string {
  const source = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  return `<script type="text/javascript">(function(){var define=undefined,module=undefined,exports=undefined;\n${source.replace(/<\/script/gi, "<\\/script")}\n})();</script>`;
}

/** Forces the next chart to embed plotly.js again (after a page reload, for example). */
export function resetPlotlyEmbedding(): void {
  libraryEmbedded = false;
}

/** The MIME bundle of a figure: HTML that draws it, plotly's own JSON type, and a text summary. */
export function figureBundle(figure: Figure, options: { height?: number; embedLibrary?: boolean } = {}): MimeBundle {
  const embed = options.embedLibrary ?? !libraryEmbedded;
  libraryEmbedded = libraryEmbedded || embed;
  const id = `lesson4-plot-${randomBytes(6).toString("hex")}`;
  const height = options.height ?? (figure.layout?.height as number | undefined) ?? 420;
  const json = JSON.stringify({ data: figure.data, layout: figure.layout ?? {}, config: { responsive: true, ...(figure.config ?? {}) }, frames: figure.frames ?? [] }).replace(/<\//g, "<\\/");
  const draw = `<script type="text/javascript">(function(){var f=${json};var tries=0;function draw(){var el=document.getElementById(${JSON.stringify(id)});if(window.Plotly&&el){window.Plotly.newPlot(el,f.data,f.layout,f.config).then(function(){if(f.frames.length)window.Plotly.addFrames(el,f.frames);});}else if(tries++<400){setTimeout(draw,25);}}draw();})();</script>`;
  const html = `<div id="${id}" class="lesson4-plot" style="width:100%;height:${height}px;"></div>${embed ? plotlyLibraryScript() : ""}${draw}`;
  const title = (figure.layout?.title as { text?: string } | string | undefined) ?? "";
  const titleText = typeof title === "string" ? title : title.text ?? "";
  return {
    "text/html": html,
    "application/vnd.plotly.v1+json": { data: figure.data, layout: figure.layout ?? {}, config: figure.config ?? {} },
    "text/plain": `<plotly figure${titleText ? ` "${titleText}"` : ""}: ${figure.data.length} trace(s)>`,
  };
}

/** Draws a figure in the notebook. */
export function plot(figure: Figure, options: { height?: number } = {}): void {
  show(figureBundle(figure, options));
}
