/**
 * A cell's output area beyond showing things, through the project's kernel (kernel/output.cjs):
 * clear it, as IPython's clear_output, and page text, as IPython's `?` does.
 */

interface OutputApi {
  clearOutput(options?: { wait?: boolean }): void;
  page(data: string | Record<string, unknown>, start?: number): void;
}

function kernelOutput(): OutputApi | null {
  const api = (globalThis as Record<symbol, unknown>)[Symbol.for("lesson4-ts.output")];
  return (api as OutputApi | undefined) ?? null;
}

/**
 * Clears the running cell's output; `wait: true` keeps it until the next output arrives, so a
 * redrawn line does not flicker. Outside the kernel it does nothing.
 */
export function clearOutput(options: { wait?: boolean } = {}): void {
  kernelOutput()?.clearOutput(options);
}

/**
 * Shows `text` in the front end's pager (JupyterLab: below the cell), as IPython's `?` does.
 * Outside the kernel it prints the text.
 */
export function page(text: string): void {
  const api = kernelOutput();
  if (api) api.page(text);
  else console.log(text);
}
