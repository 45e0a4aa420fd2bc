/**
 * Turns the exported HTML lessons into a small site: an index.html listing each lesson with its
 * summary, data, status and run time, and on every page a table of contents and previous/next links.
 */
import * as fs from "fs";
import * as path from "path";
import { escapeHtml } from "../lib/display/show";

type Source = string[] | string;
interface Output {
  output_type: string;
  text?: Source;
  data?: Record<string, unknown>;
}
interface Cell {
  cell_type: string;
  source: Source;
  outputs?: Output[];
}
interface RunMetadata {
  seconds?: number;
  status?: "ok" | "failed";
  error?: { cell: number | null; ename: string; evalue?: string } | null;
}
export interface ExecutedNotebook {
  cells: Cell[];
  metadata?: { lesson4?: RunMetadata };
}

/** One lesson as the index shows it. */
export interface Lesson {
  name: string;
  title: string;
  summary: string;
  /** The run's `**Data:** ` line without the prefix, or null when the notebook printed none. */
  data: string | null;
  status: "ok" | "failed";
  seconds: number | null;
  error: RunMetadata["error"];
}

export interface Heading {
  level: number;
  id: string;
  html: string;
}

const text = (source: Source | undefined): string =>
  Array.isArray(source) ? source.join("") : (source ?? "");

/** Markdown reduced to one line of plain text (links keep their words, emphasis and code marks go). */
export function plainText(markdown: string): string {
  return markdown
    .replace(/!\[[^\]]*\]\([^)]*\)/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/(\*\*|__|\*|`)/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The first paragraph, shortened to its first sentence when long. */
function oneLine(paragraph: string, max = 220): string {
  if (paragraph.length <= max) return paragraph;
  const sentence = /^(.+?[.!?])(\s|$)/.exec(paragraph)?.[1];
  if (sentence && sentence.length <= max) return sentence;
  return `${paragraph.slice(0, max).replace(/\s+\S*$/, "")}…`;
}

const DATA_PREFIX = "**Data:** ";

/** The first output line starting with `**Data:** ` (a markdown display, a text result or printed text). */
export function dataLine(cells: Cell[]): string | null {
  for (const cell of cells) {
    for (const output of cell.outputs ?? []) {
      const candidates = [
        output.data?.["text/markdown"],
        output.data?.["text/plain"],
        output.text,
      ].map((v) => text(v as Source | undefined));
      for (const candidate of candidates) {
        const line = candidate.split("\n").find((l) => l.startsWith(DATA_PREFIX));
        if (line) return plainText(line.slice(DATA_PREFIX.length)) || null;
      }
    }
  }
  return null;
}

/** Title (the first `#` heading), one-line summary (the first paragraph after it) and data line of an executed notebook. */
export function describeNotebook(
  nb: ExecutedNotebook,
  fallbackTitle: string,
): Pick<Lesson, "title" | "summary" | "data"> {
  const first = text(nb.cells.find((c) => c.cell_type === "markdown")?.source);
  const title = plainText(/^#\s+(.+)$/m.exec(first)?.[1] ?? "") || fallbackTitle;
  const paragraphs = first
    .replace(/^#{1,6}\s.*$/gm, "")
    .split(/\n\s*\n/)
    .map(plainText)
    .filter(Boolean);
  return { title, summary: paragraphs[0] ? oneLine(paragraphs[0]) : "", data: dataLine(nb.cells) };
}

const SITE_START = "<!-- lesson4-site -->";
const SITE_END = "<!-- /lesson4-site -->";
const injected = new RegExp(`${SITE_START}[^]*?${SITE_END}`, "g");

/** The page's section headings (h1 to h3 with an id, as nbconvert writes them), without the title. */
export function headings(html: string): Heading[] {
  const found: Heading[] = [];
  const re = /<h([1-3])\s[^>]*?id="([^"]+)"[^>]*>([^]*?)<\/h\1>/g;
  const page = html.replace(injected, "");
  for (let m = re.exec(page); m; m = re.exec(page)) {
    const inner = m[3]
      .replace(/<a\s[^>]*class="anchor-link"[^>]*>[^]*?<\/a>/g, "")
      .replace(/<[^>]+>/g, "")
      .trim();
    if (inner) found.push({ level: Number(m[1]), id: m[2], html: inner });
  }
  const titleIndex = found.findIndex((h) => h.level === 1);
  return titleIndex === 0 ? found.slice(1) : found;
}

const STYLE = `<style>
.lesson4-nav{display:flex;justify-content:space-between;gap:1em;padding:8px 16px;font:14px sans-serif;background:#f5f5f5;border-bottom:1px solid #ddd}
.lesson4-nav.bottom{border-top:1px solid #ddd;border-bottom:0;margin-top:2em}
.lesson4-toc{font:14px/1.5 sans-serif;margin:12px 16px;padding:8px 16px;border:1px solid #ddd;border-radius:4px;background:#fafafa;max-width:900px}
.lesson4-toc ol{margin:4px 0;padding-left:1.5em}.lesson4-toc .level-3{margin-left:1.5em}
</style>`;

function navBar(lessons: Lesson[], i: number, where: "top" | "bottom"): string {
  const link = (l: Lesson | undefined, label: string, rel: string) =>
    l
      ? `<a rel="${rel}" class="lesson4-${rel}" href="${encodeURIComponent(l.name)}.html">${label}: ${escapeHtml(l.title)}</a>`
      : `<span></span>`;
  return `<nav class="lesson4-nav ${where}">${link(lessons[i - 1], "← Previous", "prev")}<a href="index.html" class="lesson4-index">All lessons</a>${link(lessons[i + 1], "Next →", "next")}</nav>`;
}

function tocBox(list: Heading[]): string {
  if (!list.length) return "";
  const items = list
    .map((h) => `<li class="level-${h.level}"><a href="#${h.id}">${h.html}</a></li>`)
    .join("");
  return `<nav class="lesson4-toc" aria-label="Contents"><strong>Contents</strong><ol>${items}</ol></nav>`;
}

/** A lesson page with the site's title, navigation and table of contents (replacing an earlier pass's). */
export function decoratePage(html: string, lessons: Lesson[], i: number): string {
  const clean = html.replace(injected, "");
  const top = `${SITE_START}${STYLE}${navBar(lessons, i, "top")}${tocBox(headings(clean))}${SITE_END}`;
  const bottom = `${SITE_START}${navBar(lessons, i, "bottom")}${SITE_END}`;
  return clean
    .replace(/<title>[^]*?<\/title>/, `<title>${escapeHtml(lessons[i].title)} · lesson4-ts</title>`)
    .replace(/<body([^>]*)>/, (m) => `${m}${top}`)
    .replace(/<\/body>(?![^]*<\/body>)/, `${bottom}</body>`);
}

function writeAtomically(file: string, content: string): void {
  fs.writeFileSync(`${file}.tmp`, content);
  fs.renameSync(`${file}.tmp`, file);
}

/** The executed notebooks in `dir` (those the runner stamped with `metadata.lesson4`), in reading order. */
export function readLessons(dir: string): Lesson[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .flatMap((file) => {
      const nb = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as ExecutedNotebook;
      const run = nb.metadata?.lesson4;
      if (!run?.status) return [];
      const name = file.replace(/\.ipynb$/, "");
      return [
        {
          name,
          ...describeNotebook(nb, name),
          status: run.status,
          seconds: run.seconds ?? null,
          error: run.error ?? null,
        },
      ];
    });
}

function indexPage(lessons: Lesson[]): string {
  const status = (l: Lesson) =>
    l.status === "ok"
      ? "ran"
      : `failed at cell ${l.error?.cell ?? "?"}: ${escapeHtml(l.error?.ename ?? "")}`;
  const rows = lessons
    .map(
      (l) =>
        `<tr><td><a href="${encodeURIComponent(l.name)}.html">${escapeHtml(l.title)}</a><div class="summary">${escapeHtml(l.summary)}</div></td><td class="data">${escapeHtml(l.data ?? "—")}</td><td class="status ${l.status}">${status(l)}</td><td class="seconds">${l.seconds === null ? "—" : `${l.seconds.toFixed(1)} s`}</td></tr>`,
    )
    .join("\n");
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>lesson4-ts: the lessons</title>
<style>body{font:15px/1.5 sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:6px;text-align:left;vertical-align:top}.summary,.data{color:#555;font-size:13px}.failed{color:#b00}.ok{color:#070}.seconds{white-space:nowrap}</style></head>
<body><h1>lesson4-ts: the lessons</h1><p>Built ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. Each lesson is a TypeScript notebook run top to bottom on the tslab kernel.</p>
<table class="lessons"><thead><tr><th>Lesson</th><th>Data used</th><th>Status</th><th>Run time</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

/** Writes index.html and decorates every lesson page in `dir`; returns the index path. */
export function buildSite(dir: string): string {
  const lessons = readLessons(dir);
  lessons.forEach((lesson, i) => {
    const file = path.join(dir, `${lesson.name}.html`);
    if (fs.existsSync(file))
      writeAtomically(file, decoratePage(fs.readFileSync(file, "utf8"), lessons, i));
  });
  const indexFile = path.join(dir, "index.html");
  writeAtomically(indexFile, indexPage(lessons));
  return indexFile;
}
