/**
 * Tables as HTML (pandas-style) plus text, for danfo DataFrames/Series and arrays of records.
 */
import { escapeHtml, show, type MimeBundle } from "./show";

type Cell = unknown;
export interface TableOptions {
  /** Most rows to show; the rest are elided in the middle (default 20). */
  maxRows?: number;
  /** Digits after the decimal point for non-integers (default 4). */
  digits?: number;
  /** A caption above the table. */
  caption?: string;
}

interface DataFrameLike {
  columns: string[];
  values: Cell[][] | Cell[];
  index: Array<string | number>;
  shape: number[];
}
interface SeriesLike {
  values: Cell[];
  index: Array<string | number>;
  columns?: unknown;
}

/** True for danfo DataFrames (and anything shaped like one). */
export function isDataFrame(value: unknown): value is DataFrameLike {
  const v = value as DataFrameLike;
  return (
    v != null &&
    typeof v === "object" &&
    Array.isArray(v.columns) &&
    Array.isArray(v.index) &&
    Array.isArray(v.values) &&
    Array.isArray(v.shape) &&
    v.shape.length === 2
  );
}

/** True for danfo Series. */
export function isSeries(value: unknown): value is SeriesLike {
  const v = value as SeriesLike & { shape?: number[] };
  return (
    v != null &&
    typeof v === "object" &&
    Array.isArray(v.values) &&
    Array.isArray(v.index) &&
    Array.isArray(v.shape) &&
    v.shape.length === 1 &&
    !Array.isArray(v.columns)
  );
}

function formatCell(value: Cell, digits: number): string {
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    if (!Number.isFinite(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e7)
      ? value.toExponential(digits - 1)
      : value.toFixed(digits);
  }
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** A generic table: header, index and rows of cells. */
export interface TableData {
  columns: string[];
  index: Array<string | number>;
  rows: Cell[][];
}

/** Converts a DataFrame, a Series or an array of records to rows and columns. */
export function toTableData(value: unknown): TableData {
  if (isDataFrame(value)) {
    const rows = (value.values as Cell[][]).map((row) => (Array.isArray(row) ? row : [row]));
    return { columns: value.columns.map(String), index: value.index, rows };
  }
  if (isSeries(value)) {
    const name = (value as unknown as { config?: unknown; columnName?: string }).columnName;
    return { columns: [name ?? "value"], index: value.index, rows: value.values.map((v) => [v]) };
  }
  if (Array.isArray(value)) {
    const columns: string[] = [];
    for (const record of value) {
      for (const key of Object.keys(record ?? {})) if (!columns.includes(key)) columns.push(key);
    }
    return {
      columns,
      index: value.map((_, i) => i),
      rows: value.map((record) => columns.map((c) => (record as Record<string, Cell>)?.[c])),
    };
  }
  throw new TypeError(
    "table() takes a danfo DataFrame or Series, or an array of records (objects).",
  );
}

function elide<T>(items: T[], maxRows: number): Array<T | null> {
  if (items.length <= maxRows) return items;
  const head = Math.ceil(maxRows / 2);
  return [...items.slice(0, head), null, ...items.slice(items.length - (maxRows - head))];
}

/** The MIME bundle of a table (HTML with class "dataframe", and aligned text). */
export function tableBundle(value: unknown, options: TableOptions = {}): MimeBundle {
  const { columns, index, rows } = toTableData(value);
  const maxRows = options.maxRows ?? 20;
  const digits = options.digits ?? 4;
  const numbered = rows.map((row, i) => ({ label: index[i], row }));
  const shown = elide(numbered, maxRows);
  const htmlRows = shown
    .map((entry) =>
      entry === null
        ? `<tr><th>…</th>${columns.map(() => "<td>…</td>").join("")}</tr>`
        : `<tr><th>${escapeHtml(String(entry.label))}</th>${entry.row.map((c) => `<td>${escapeHtml(formatCell(c, digits))}</td>`).join("")}</tr>`,
    )
    .join("");
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  const html =
    `<table class="dataframe lesson4-table" border="1">${caption}<thead><tr style="text-align: right;"><th></th>` +
    `${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>${htmlRows}</tbody></table>` +
    `<p class="lesson4-table-shape">${rows.length} rows × ${columns.length} columns</p>`;
  const textCells = shown.map((entry) =>
    entry === null
      ? ["…", ...columns.map(() => "…")]
      : [String(entry.label), ...entry.row.map((c) => formatCell(c, digits))],
  );
  const all = [["", ...columns], ...textCells];
  const widths = all[0].map((_, j) => Math.max(...all.map((r) => r[j].length)));
  const text =
    all.map((r) => r.map((c, j) => c.padStart(widths[j])).join("  ")).join("\n") +
    `\n\n[${rows.length} rows x ${columns.length} columns]`;
  return {
    "text/html": html,
    "text/plain": options.caption ? `${options.caption}\n${text}` : text,
  };
}

/** Shows a DataFrame, Series or array of records as a table. */
export function table(value: unknown, options: TableOptions = {}): void {
  show(tableBundle(value, options));
}
