// Turns what tslab reports (a thrown value, or TypeScript diagnostics) into Jupyter error
// content: { ename, evalue, traceback }, with stack positions mapped back to the TypeScript of
// the cells and imported files (kernel/sourcemap.cjs) and kernel internals left out.
"use strict";

const INTERNAL =
  /tslab[\\/]dist|node:vm|node:internal|node:async_hooks|kernel[\\/][\w-]+\.cjs|runInThisContext|evalmachine\.<anonymous>/;
const FRAME_POSITION = /(\(?)((?:cell\[\d+\])|(?:[^\s():]+)):(\d+):(\d+)(\)?)$/;

/** Errors meaning "the user interrupted the cell", whatever raised them. */
function interruptMessage(error) {
  if (error && error.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED")
    return "the cell was interrupted while it ran";
  if (error && error.message === "Interrupted asynchronously") {
    return "the cell was interrupted while it awaited; the awaited work did not stop by itself and may still be running in the background";
  }
  return null;
}

/**
 * Rewrites one stack line "    at fn (file:line:col)" with the TypeScript position: returns
 * { lines, project } (the frame, for cells with its source line; project: whether the frame is
 * in a cell or an imported project file), or null to leave the frame out.
 */
function mapFrame(line, locate) {
  if (!/^\s+at /.test(line)) return null;
  line = line.replace(/^(\s+at (?:async )?)Proxy\./, "$1"); // cells call earlier cells' functions through tslab's exports Proxy
  const m = FRAME_POSITION.exec(line);
  const pos = m && locate ? locate(m[2], Number(m[3]), Number(m[4])) : null;
  if (pos && pos.internal) return null;
  if (pos && pos.cell !== undefined) {
    const where = `Cell In[${pos.cell}], line ${pos.line}, column ${pos.column}`;
    const head = line.slice(0, m.index) + m[1] + where + m[5];
    const source = String(pos.code || "").split("\n")[pos.line - 1];
    return {
      lines: source === undefined ? [head] : [head, `        ${source.trim()}`],
      project: true,
    };
  }
  if (pos && pos.file)
    return {
      lines: [line.slice(0, m.index) + `${m[1]}${pos.file}:${pos.line}:${pos.column}${m[5]}`],
      project: true,
    };
  if (INTERNAL.test(line)) return null;
  return { lines: [line], project: false };
}

/** Jupyter error content for a thrown value; `locate(file, line, column)` maps stack positions. */
function describeError(error, locate) {
  if (error == null)
    return {
      ename: "Error",
      evalue: "the cell failed without an error value",
      traceback: ["Error: the cell failed"],
    };
  if (!(error instanceof Error) && typeof error !== "object") {
    return {
      ename: "Error",
      evalue: `thrown: ${String(error)}`,
      traceback: [`Uncaught ${String(error)}`],
    };
  }
  const interrupted = interruptMessage(error);
  if (interrupted)
    return {
      ename: "KeyboardInterrupt",
      evalue: interrupted,
      traceback: [`KeyboardInterrupt: ${interrupted}`],
    };
  const ename = error.name || (error.constructor && error.constructor.name) || "Error";
  const evalue = error.message != null ? String(error.message) : String(error);
  const frames = [];
  let hidden = 0; // library frames after the first of a run: counted, not shown
  let inLibrary = false;
  const flush = () => {
    if (hidden) frames.push(`    … ${hidden} more library frame${hidden > 1 ? "s" : ""}`);
    hidden = 0;
  };
  for (const line of String(error.stack || "")
    .split("\n")
    .slice(1)) {
    const mapped = mapFrame(line, locate);
    if (!mapped) continue;
    if (!mapped.project && inLibrary) {
      hidden++;
      continue;
    }
    flush();
    inLibrary = !mapped.project;
    frames.push(...mapped.lines);
  }
  flush();
  return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...frames] };
}

/** Jupyter error content for TypeScript diagnostics, pointing at the line and column in the cell. */
function describeDiagnostics(diagnostics, code) {
  const lines = String(code || "").split("\n");
  const traceback = [];
  for (const d of diagnostics) {
    const where = d.fileName ? `${d.fileName} ` : "";
    const line = d.start.line + 1;
    const column = d.start.character + 1;
    traceback.push(`${where}line ${line}, column ${column}: ${d.messageText}`);
    if (!d.fileName && lines[d.start.line] !== undefined) {
      traceback.push(`  ${lines[d.start.line]}`);
      traceback.push(`  ${" ".repeat(d.start.character)}^`);
    }
  }
  const first = diagnostics[0];
  return {
    ename: "TypeScriptError",
    evalue: `${first.fileName ? `${first.fileName} ` : ""}line ${first.start.line + 1}, column ${first.start.character + 1}: ${first.messageText}`,
    traceback,
  };
}

module.exports = { describeError, describeDiagnostics };
