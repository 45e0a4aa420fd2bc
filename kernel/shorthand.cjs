// tslab 1.0.22 renames a cell's references to earlier cells' variables, but misses shorthand
// properties: `{ trn, val }` fails with "trn is not defined". Spelling them out (`{ trn: trn, val: val }`)
// before tslab converts the cell avoids that; lines stay where they were, so reported positions hold.
"use strict";
const ts = require("@tslab/typescript-for-tslab");

/**
 * The cell's source with every shorthand property `name` written as `name: name`, and a function
 * mapping a 0-based (line, column) of that source back to the column in the cell as written.
 */
function expandShorthand(src) {
  const same = { code: src, originalColumn: (_line, column) => column };
  if (!src.includes("{")) return same;
  const file = ts.createSourceFile(
    "cell.tsx",
    src,
    ts.ScriptTarget.Latest,
    false,
    ts.ScriptKind.TS,
  );
  const inserts = [];
  const visit = (node) => {
    if (ts.isShorthandPropertyAssignment(node))
      inserts.push({ at: node.name.getEnd(), text: `: ${node.name.text}` });
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (!inserts.length) return same;
  let out = "";
  let from = 0;
  const byLine = new Map(); // line -> [{ column (in the expanded source), length }]
  for (const { at, text } of inserts.sort((a, b) => a.at - b.at)) {
    out += src.slice(from, at);
    const { line, character } = file.getLineAndCharacterOfPosition(at);
    const shifted = (byLine.get(line) || []).reduce((sum, i) => sum + i.length, 0);
    byLine.set(line, [
      ...(byLine.get(line) || []),
      { column: character + shifted, length: text.length },
    ]);
    out += text;
    from = at;
  }
  const originalColumn = (line, column) => {
    let back = 0;
    for (const i of byLine.get(line) || []) {
      if (column >= i.column + i.length) back += i.length;
      else if (column > i.column) back += column - i.column; // inside an inserted ": name"
    }
    return column - back;
  };
  return { code: out + src.slice(from), originalColumn };
}

module.exports = { expandShorthand };
