// Turns what tslab reports (a thrown value, or TypeScript diagnostics) into Jupyter error
// content: { ename, evalue, traceback }, with kernel internals left out of the stack.
"use strict";

const INTERNAL = /tslab[\\/]dist|node:vm|node:internal|sigintHandlersWrap|kernel[\\/]launch\.cjs|runInThisContext/;

/** Jupyter error content for a thrown value. */
function describeError(error) {
  if (error == null) return { ename: "Error", evalue: "the cell failed without an error value", traceback: ["Error: the cell failed"] };
  if (!(error instanceof Error) && typeof error !== "object") {
    return { ename: "Error", evalue: `thrown: ${String(error)}`, traceback: [`Uncaught ${String(error)}`] };
  }
  const ename = error.name || (error.constructor && error.constructor.name) || "Error";
  const evalue = error.message != null ? String(error.message) : String(error);
  const stack = String(error.stack || "").split("\n").slice(1)
    .filter((line) => /^\s+at /.test(line) && !INTERNAL.test(line))
    .map((line) => line.replace(/evalmachine\.<anonymous>:(\d+):(\d+)/g, "cell (compiled) line $1, column $2"));
  return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...stack] };
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
