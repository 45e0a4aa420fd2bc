/**
 * Sends rich output through Jupyter's display protocol (display_data / update_display_data),
 * so every front end (JupyterLab, the classic Notebook, nbconvert's HTML) shows it natively.
 */
import { randomBytes } from "crypto";
import { AsyncLocalStorage } from "async_hooks";

/** A Jupyter MIME bundle: MIME type -> content (strings, or JSON for `application/*+json`). */
export type MimeBundle = Record<string, unknown>;

/** Anything that knows how to present itself as a MIME bundle. */
export interface Displayable {
  toMimeBundle(): MimeBundle;
}

export type Writer = (bundle: MimeBundle, options: { displayId?: string; update: boolean }) => void;

let testSink: Writer | null = null;

/** Routes displays to `sink` instead of the kernel (tests, scripts); `null` restores the default. */
export function setDisplaySink(sink: Writer | null): void {
  testSink = sink;
}

// On globalThis: notebooks load lib through ./lib and the kernel through its real path, and a
// display made by either must reach the output area that captures it.
const CAPTURE = Symbol.for("lesson4-ts.display-capture");
function captures(): AsyncLocalStorage<Writer> {
  const g = globalThis as Record<symbol, unknown>;
  return (g[CAPTURE] ??= new AsyncLocalStorage<Writer>()) as AsyncLocalStorage<Writer>;
}

/**
 * Runs `fn` with every display it (and the work it starts) makes sent to `sink` instead: how an
 * output widget collects what a callback shows.
 */
export function captureDisplays<T>(sink: Writer, fn: () => T): T {
  return captures().run(sink, fn);
}

type KernelWrite = (
  content: { data: MimeBundle; metadata: object; transient: object },
  update: boolean,
) => void;

/** tslab's writer for display messages; null outside a running tslab kernel. */
function kernelWriter(): KernelWrite | null {
  try {
    // tslab keeps the live writer on its jupyter module; same file as the running kernel's.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("tslab/dist/jupyter") as { lastWriteDisplayData: KernelWrite | null })
      .lastWriteDisplayData;
  } catch {
    return null;
  }
}

function write(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
  const sink = captures().getStore() ?? testSink;
  const kernel = kernelWriter();
  const transient = displayId ? { display_id: displayId } : {};
  const text = bundle["text/plain"];
  if (sink) sink(bundle, { displayId, update });
  else if (kernel) kernel({ data: bundle, metadata: {}, transient }, update);
  else if (typeof text === "string") console.log(text);
}

/** Displays a MIME bundle (or a Displayable) as a new output. */
export function show(item: MimeBundle | Displayable): void {
  write(toBundle(item), undefined, false);
}

export function toBundle(item: MimeBundle | Displayable): MimeBundle {
  return typeof (item as Displayable).toMimeBundle === "function"
    ? (item as Displayable).toMimeBundle()
    : (item as MimeBundle);
}

/** One output area that can be replaced in place (progress bars, live charts). */
export class DisplayHandle {
  readonly id = randomBytes(8).toString("hex");
  private shown = false;

  /** Shows the first version, then replaces it in place on every later call. */
  update(item: MimeBundle | Displayable): void {
    write(toBundle(item), this.id, this.shown);
    this.shown = true;
  }
}

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
