// is_complete_request: whether a console should run the code or let the user go on typing.
// tslab 1.0.22 only tells "incomplete" (something expected at the very end) from "complete", so
// `1 +* 2` was "complete". Here the TypeScript parser's syntactic diagnostics decide:
//  - "incomplete" (with an indent for the next line) when every error sits at the very end and
//    says something is still expected or unterminated there: an open brace, bracket, paren,
//    template literal or comment, an operator waiting for its right side;
//  - "invalid" when any other syntax error is found (running it can only fail);
//  - "complete" otherwise.
// As in tslab, code ending in a blank line is run as it is (the user pressed Enter twice): it is
// "complete", or "invalid" if it has syntax errors.
"use strict";
const ts = require("@tslab/typescript-for-tslab");

// Cells are compiled as modules (tslab prefixes this), so top-level await parses as it runs.
const PREFIX = "export {};\n";

/** Diagnostics that mean "the code stops too early" when they point at its very end. */
const UNFINISHED = /( expected\.|^Unterminated template literal\.)$/;

function isComplete(code) {
  const { Latest } = ts.ScriptTarget;
  const source = ts.createSourceFile("cell.ts", PREFIX + code, Latest, false, ts.ScriptKind.TS);
  const diagnostics = source.parseDiagnostics || [];
  const end = PREFIX.length + code.length;
  const atEnd = (d) =>
    d.start >= end && typeof d.messageText === "string" && UNFINISHED.test(d.messageText);
  const forced = /(^|\n)\s*\n\s*$/.test(code);
  if (!diagnostics.length) return { status: "complete" };
  if (forced || diagnostics.some((d) => !atEnd(d))) return { status: "invalid" };
  return { status: "incomplete", indent: indentOnEnter(code) };
}

/** The indent of the next line: one level more after an opening bracket, as tslab computes it. */
function indentOnEnter(code) {
  const line = code.match(/[^\n]*$/)[0];
  const current = line.match(/^\s*/)[0];
  if (/^((?!.*?\/\*).*\*\/)?\s*[}\]].*$/.test(line)) {
    // The line closes a bracket: one level less.
    if (current.endsWith("  ")) return current.slice(0, -2);
    if (current.endsWith("\t") || current.endsWith(" ")) return current.slice(0, -1);
    return current;
  }
  if (/^((?!\/\/).)*(\{[^}"'`]*|\([^)"'`]*|\[[^\]"'`]*)$/.test(line)) return `${current}  `;
  return current;
}

module.exports = { isComplete };
