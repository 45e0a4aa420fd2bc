/**
 * Authoring helpers for the lesson notebooks:
 *   tsx scripts/notebook-tools.ts from-percent SOURCE.ts OUT.ipynb   // "// %%" cells -> notebook
 *   tsx scripts/notebook-tools.ts clear [NOTEBOOK.ipynb ...]            // strip outputs (default: all)
 *   tsx scripts/notebook-tools.ts check                                // fail if any committed notebook has outputs
 * In percent files, `// %% [markdown]` starts a Markdown cell whose lines start with `// `.
 */
import * as fs from "fs";
import * as path from "path";
import { listNotebooks, KERNELSPEC } from "./lessons";

interface Cell {
  id?: string;
  cell_type: "code" | "markdown";
  source: string[];
  metadata: object;
  outputs?: unknown[];
  execution_count?: number | null;
}

function lines(text: string): string[] {
  const parts = text.replace(/\s+$/, "").split("\n");
  return parts.map((l, i) => (i < parts.length - 1 ? `${l}\n` : l));
}

export function fromPercent(source: string): object {
  const cells: Cell[] = [];
  let current: { kind: "code" | "markdown"; body: string[] } | null = null;
  const flush = () => {
    if (!current) return;
    const text = current.body.join("\n").trim();
    if (text)
      cells.push(
        current.kind === "code"
          ? {
              cell_type: "code",
              source: lines(text),
              metadata: {},
              outputs: [],
              execution_count: null,
            }
          : { cell_type: "markdown", source: lines(text), metadata: {} },
      );
  };
  for (const line of source.split("\n")) {
    const marker = /^\/\/ %%(.*)$/.exec(line);
    if (marker) {
      flush();
      current = { kind: /\[markdown\]/.test(marker[1]) ? "markdown" : "code", body: [] };
      continue;
    }
    if (!current) current = { kind: "code", body: [] };
    current.body.push(current.kind === "markdown" ? line.replace(/^\/\/ ?/, "") : line);
  }
  flush();
  cells.forEach((cell, i) => (cell.id = `cell-${String(i).padStart(3, "0")}`));
  return {
    cells,
    metadata: {
      kernelspec: KERNELSPEC,
      language_info: { name: "typescript", file_extension: ".ts", mimetype: "text/typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

export function clearOutputs(notebook: {
  cells: Cell[];
  metadata: Record<string, unknown>;
}): boolean {
  let changed = false;
  for (const cell of notebook.cells) {
    if (cell.cell_type !== "code") continue;
    if ((cell.outputs?.length ?? 0) > 0 || cell.execution_count != null) changed = true;
    cell.outputs = [];
    cell.execution_count = null;
  }
  // A run's record, and the widgets' state JupyterLab saves with a notebook (npm start asks it to).
  for (const key of ["lesson4", "widgets"]) {
    if (!(key in notebook.metadata)) continue;
    delete notebook.metadata[key];
    changed = true;
  }
  return changed;
}

function writeAtomic(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function main(): void {
  const [command, ...args] = process.argv.slice(2);
  if (command === "from-percent" && args.length === 2) {
    const nb = fromPercent(fs.readFileSync(args[0], "utf8"));
    writeAtomic(args[1], `${JSON.stringify(nb, null, 1)}\n`);
    console.log(`wrote ${args[1]}`);
  } else if (command === "clear" || command === "check") {
    const files = args.length ? args : listNotebooks();
    const dirty: string[] = [];
    for (const file of files) {
      const nb = JSON.parse(fs.readFileSync(file, "utf8"));
      if (clearOutputs(nb)) {
        dirty.push(path.relative(process.cwd(), file));
        if (command === "clear") writeAtomic(file, `${JSON.stringify(nb, null, 1)}\n`);
      }
    }
    if (command === "check" && dirty.length) {
      console.error(
        `These notebooks have outputs; run \`npx tsx scripts/notebook-tools.ts clear\`:\n  ${dirty.join("\n  ")}`,
      );
      process.exit(1);
    }
    console.log(
      command === "clear" ? `cleared ${dirty.length} notebook(s)` : "all notebooks are clear",
    );
  } else {
    console.error(
      "usage: notebook-tools.ts from-percent SOURCE.ts OUT.ipynb | clear [NB...] | check",
    );
    process.exit(2);
  }
}

if (require.main === module) main();
