/**
 * Turns the exported HTML lessons into a small site: an index.html listing each lesson with its
 * summary, status and run time, and previous/next links on every page.
 */
import * as fs from "fs";
import * as path from "path";
import { escapeHtml } from "../lib/display/show";
import type { NotebookResult } from "./run-lessons";

interface Lesson extends NotebookResult { title: string; summary: string }

/** The first Markdown heading and the first sentence after it, from an executed notebook. */
function describe(notebookFile: string): { title: string; summary: string } {
  const nb = JSON.parse(fs.readFileSync(notebookFile, "utf8")) as { cells: Array<{ cell_type: string; source: string[] | string }> };
  const first = nb.cells.find((c) => c.cell_type === "markdown");
  const text = first ? (Array.isArray(first.source) ? first.source.join("") : first.source) : "";
  const title = /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? path.basename(notebookFile, ".ipynb");
  const body = text.replace(/^#.*$/gm, "").replace(/[*_`]/g, "").trim();
  const summary = /^(.+?[.!?])(\s|$)/s.exec(body)?.[1]?.replace(/\s+/g, " ") ?? "";
  return { title, summary };
}

const NAV_MARK = "<!-- lesson4-nav -->";

function navBar(lessons: Lesson[], i: number): string {
  const prev = lessons[i - 1];
  const next = lessons[i + 1];
  const link = (l: Lesson | undefined, label: string) => (l ? `<a href="${l.name}.html">${label}: ${escapeHtml(l.title)}</a>` : `<span></span>`);
  return `${NAV_MARK}<nav class="lesson4-nav" style="display:flex;justify-content:space-between;gap:1em;padding:8px 16px;font:14px sans-serif;background:#f5f5f5;border-bottom:1px solid #ddd">${link(prev, "← Previous")}<a href="index.html">All lessons</a>${link(next, "Next →")}</nav>`;
}

/** Writes index.html and navigation for every lesson listed in summary.json; returns the index path. */
export function buildSite(dir: string): string {
  const summaryFile = path.join(dir, "summary.json");
  const results: NotebookResult[] = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, "utf8")) : [];
  // Keep the newest result per notebook when several runs wrote into the same folder.
  const byName = new Map<string, NotebookResult>();
  for (const r of results) byName.set(r.name, r);
  const lessons: Lesson[] = [...byName.values()]
    .filter((r) => fs.existsSync(path.join(dir, `${r.name}.ipynb`)))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r) => ({ ...r, ...describe(path.join(dir, `${r.name}.ipynb`)) }));
  lessons.forEach((lesson, i) => {
    const file = path.join(dir, `${lesson.name}.html`);
    if (!fs.existsSync(file)) return;
    let html = fs.readFileSync(file, "utf8").replace(new RegExp(`${NAV_MARK}<nav[^]*?</nav>`, "g"), "");
    html = html.replace(/<body([^>]*)>/, (m) => `${m}${navBar(lessons, i)}`);
    fs.writeFileSync(`${file}.tmp`, html);
    fs.renameSync(`${file}.tmp`, file);
  });
  const rows = lessons
    .map((l) => `<tr><td><a href="${l.name}.html">${escapeHtml(l.title)}</a><div class="summary">${escapeHtml(l.summary)}</div></td><td class="${l.status}">${l.status === "ok" ? "ran" : `failed at cell ${l.error?.cell ?? "?"}: ${escapeHtml(l.error?.ename ?? "")}`}</td><td>${l.seconds.toFixed(1)} s</td></tr>`)
    .join("\n");
  const index = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>lesson4-ts: the lessons</title>
<style>body{font:15px/1.5 sans-serif;max-width:900px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:6px;text-align:left;vertical-align:top}.summary{color:#555;font-size:13px}.failed{color:#b00}.ok{color:#070}</style></head>
<body><h1>lesson4-ts: the lessons</h1><p>Executed ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. Each lesson is a TypeScript notebook run top to bottom on the tslab kernel.</p>
<table><thead><tr><th>Lesson</th><th>Status</th><th>Run time</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
  const indexFile = path.join(dir, "index.html");
  fs.writeFileSync(`${indexFile}.tmp`, index);
  fs.renameSync(`${indexFile}.tmp`, indexFile);
  return indexFile;
}
