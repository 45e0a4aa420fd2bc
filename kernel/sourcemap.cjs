// Maps positions in the JavaScript that tslab runs back to the TypeScript a person wrote.
// tslab compiles a cell twice (TypeScript -> ES module JS -> CommonJS) and wraps it in a function;
// launch.cjs asks both compilations for source maps, and this module composes them, for cells
// ("In [n]") and for the .ts files the cells import (lib/...), using Node's own SourceMap class.
"use strict";
const path = require("path");
const { SourceMap } = require("module");

const INLINE_MAP = /\n?\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;
const FILE_MAP = /\n?\/\/# sourceMappingURL=\S+\s*$/;

/** Maps of the latest CommonJS transpilations, by output text, until the converter's caller claims them. */
const pending = new Map();
/** Cells: script name ("cell[3]") -> { count, code, prefixLength, maps }. */
const cells = new Map();
/** Imported .ts files: the compiled module's filename -> { tsPath, maps }. */
const modules = new Map();

/**
 * Wraps the CommonJS step of tslab (ts.transpileModule on the ES module output): takes the
 * inline map of the first step out of the input, asks for a map of this step, and remembers both.
 */
function transpileWithMaps(transpileModule, input, options) {
  const inline = INLINE_MAP.exec(input);
  const first = inline
    ? safeMap(JSON.parse(Buffer.from(inline[1], "base64").toString("utf8")))
    : null;
  const js = inline ? input.slice(0, inline.index) + "\n" : input;
  const out = transpileModule(js, {
    ...options,
    compilerOptions: { ...options.compilerOptions, sourceMap: true },
  });
  const outputText = out.outputText.replace(FILE_MAP, "\n");
  const second = out.sourceMapText ? safeMap(JSON.parse(out.sourceMapText)) : null;
  if (first && second) pending.set(outputText, [second, first]);
  return { ...out, outputText, sourceMapText: undefined };
}

function safeMap(payload) {
  try {
    return new SourceMap(payload);
  } catch {
    return null;
  }
}

/** Claims the maps of a converted cell and of the imported files compiled with it. */
function claim(converted, cellInfo) {
  if (converted.output && pending.has(converted.output))
    cells.set(cellInfo.name, { prefixLength: 0, ...cellInfo, maps: pending.get(converted.output) });
  for (const side of converted.sideOutputs || []) {
    if (pending.has(side.data))
      modules.set(side.path, {
        tsPath: side.path.replace(/\.js$/, ".ts"),
        maps: pending.get(side.data),
      });
  }
  pending.clear();
}

/** Records the script tslab runs for a cell: its wrapper's prefix length and its line count. */
function setScript(name, prefixLength, script) {
  const cell = cells.get(name);
  if (cell) Object.assign(cell, { prefixLength, lastLine: script.split("\n").length });
}

/** [line, column] (0-based) through a chain of maps, or null where a map has no entry. */
function throughMaps(maps, line, column) {
  for (const map of maps) {
    const entry = map.findEntry(line, column);
    if (!entry || entry.originalLine === undefined) return null;
    line = entry.originalLine;
    column = entry.originalColumn;
  }
  return [line, column];
}

/**
 * The TypeScript position of a stack frame's file:line:column (1-based, as in stacks):
 * { cell: n, line, column, code } for a cell, { file, line, column } for an imported .ts file,
 * { internal: true } for tslab's wrapper, null where nothing is known.
 */
function originalPosition(file, line, column) {
  const cell = cells.get(file);
  if (cell) {
    if (line === cell.lastLine) return { internal: true }; // tslab's wrapper calling the cell
    const col = line === 1 ? column - 1 - cell.prefixLength : column - 1;
    const pos = throughMaps(cell.maps, line - 1, Math.max(col, 0));
    // The first compilation sees the cell after a one-line prefix ("export {};").
    if (!pos || pos[0] < 1) return null;
    const originalColumn = cell.originalColumn ? cell.originalColumn(pos[0] - 1, pos[1]) : pos[1];
    return { cell: cell.count, line: pos[0], column: originalColumn + 1, code: cell.code };
  }
  const mod = modules.get(file);
  if (mod) {
    const pos = throughMaps(mod.maps, line - 1, Math.max(column - 1, 0));
    if (!pos) return null;
    return { file: path.relative(process.cwd(), mod.tsPath), line: pos[0] + 1, column: pos[1] + 1 };
  }
  return null;
}

module.exports = { transpileWithMaps, claim, setScript, originalPosition };
