/** Rich notebook output: charts, tables, images and training progress. */
import { show } from "./show";
export {
  show,
  DisplayHandle,
  setDisplaySink,
  escapeHtml,
  type MimeBundle,
  type Displayable,
} from "./show";
export { plot, figureBundle, resetPlotlyEmbedding, type Figure } from "./plot";
export { table, tableBundle, toTableData, isDataFrame, isSeries, type TableOptions } from "./table";
export { image, imageGrid, imageBundle, tensorToPng, type ImageOptions } from "./image";
export { clearOutput, page } from "./output";
export { trainingProgress, TrainingProgress, type ProgressOptions, type Logs } from "./progress";

/** Shows Markdown text (for headings and numbers computed by the run). */
export function markdown(text: string): void {
  show({ "text/markdown": text, "text/plain": text });
}
