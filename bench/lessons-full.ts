/**
 * The State Farm lessons as a whole: notebooks 04 and 05 run top to bottom through Jupyter (as
 * `npm run lessons` runs them) from an empty data folder, with the time of each stage.
 *
 *   npm run bench -- lessons-full            full mode (about 25 minutes on 2 cores)
 *   LESSON4_MODE=fast npm run bench -- lessons-full      fast mode, to try it (a few minutes)
 *   npx tsx bench/lessons-full.ts [--keep]   the same without the set-up step; --keep leaves the
 *                                            data folder and executed notebooks for a look
 *
 * The data folder is a new temporary LESSON4_DATA_DIR, so the run generates the State Farm
 * stand-in, computes every MobileNet feature and trains every model. The pretrained MobileNet
 * comes from LESSON4_SOURCES_DIR (e.g. ../shared), as it would from its one-off download.
 *
 * Stages, per notebook: each executed cell's time (nbclient's busy/idle stamps), split where a
 * cell writes files: generation lasts from the cell's start to the last generated photo written,
 * feature extraction to the last features/*.npy written, and what follows goes to the stage the
 * cell's calls name (training for train*, try*, run*, fit, evaluate). The notebook's time beyond
 * its cells is the kernel's start and the HTML export.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readConfig } from "../lib/config";
import { listNotebooks } from "../scripts/lessons";
import { runNotebooks } from "../scripts/run-lessons";

export const STAGES = [
  "generation",
  "features",
  "training",
  "other cells",
  "kernel start + export",
] as const;
export type Stage = (typeof STAGES)[number];

export interface CellTime {
  notebook: string;
  index: number;
  seconds: number;
  /** The cell's first line, to name it. */
  first: string;
  stages: Partial<Record<Stage, number>>;
}

export interface LessonsReport {
  name: "lessons-full";
  mode: string;
  total_seconds: number;
  notebooks: Array<{
    name: string;
    status: string;
    seconds: number;
    stages: Record<Stage, number>;
  }>;
  stages: Record<Stage, number>;
  slowest_cells: Array<{ cell: string; seconds: number }>;
}

interface NotebookJson {
  metadata?: { lesson4?: { seconds?: number; status?: string } };
  cells: Array<{
    cell_type: string;
    source: string | string[];
    metadata?: { execution?: Record<string, string> };
  }>;
}

/** Every file under `dir` with its modification time (ms since the epoch). */
function filesUnder(dir: string): Array<{ file: string; mtime: number }> {
  if (!fs.existsSync(dir)) return [];
  const out: Array<{ file: string; mtime: number }> = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else out.push({ file: full, mtime: fs.statSync(full).mtimeMs });
  }
  return out;
}

const TRAINING = /\b(train[A-Z]\w*|try[A-Z]\w*|run[A-Z]\w*|gridRun|fit|evaluate)\s*\(/;
const FEATURES = /\b(stateFarmFeatures|stateFarmMobileNet|precomputeFeatures|loadMobileNet)\s*\(/;

const zero = (): Record<Stage, number> =>
  Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;

/**
 * Splits each executed cell of `notebookFile` into stages, with the generated photos' and the
 * feature files' modification times (`generated`, `features`) marking where generation and
 * extraction ended.
 */
export function cellStages(
  notebookFile: string,
  generated: number[],
  features: number[],
): CellTime[] {
  const nb = JSON.parse(fs.readFileSync(notebookFile, "utf8")) as NotebookJson;
  const name = path.basename(notebookFile, ".ipynb");
  const out: CellTime[] = [];
  nb.cells.forEach((cell, index) => {
    const stamps = cell.metadata?.execution;
    const begin = Date.parse(
      stamps?.["iopub.status.busy"] ?? stamps?.["iopub.execute_input"] ?? "",
    );
    const end = Date.parse(stamps?.["iopub.status.idle"] ?? stamps?.["shell.execute_reply"] ?? "");
    if (cell.cell_type !== "code" || !Number.isFinite(begin) || !Number.isFinite(end)) return;
    const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    // Files written while the cell ran (a second of slack: the kernel's stamps are its own clock).
    const within = (times: number[]) => times.filter((t) => t >= begin - 1000 && t <= end + 1000);
    const genEnd = Math.min(end, Math.max(begin, ...within(generated)));
    const featEnd = Math.min(end, Math.max(genEnd, ...within(features)));
    const stages: Partial<Record<Stage, number>> = {};
    const add = (stage: Stage, ms: number) => {
      if (ms > 0) stages[stage] = (stages[stage] ?? 0) + ms / 1000;
    };
    add("generation", genEnd - begin);
    add("features", featEnd - genEnd);
    const rest: Stage = TRAINING.test(source)
      ? "training"
      : FEATURES.test(source)
        ? "features"
        : "other cells";
    add(rest, end - featEnd);
    const first = source.split("\n").find((l) => l.trim() && !l.trim().startsWith("//")) ?? "";
    out.push({
      notebook: name,
      index,
      seconds: (end - begin) / 1000,
      first: first.trim().slice(0, 70),
      stages,
    });
  });
  return out;
}

/** Runs 04 and 05 in `mode` from an empty data folder and reports each stage's time. */
export async function timeLessons(
  options: { mode?: string; keep?: boolean; log?: (line: string) => void } = {},
): Promise<LessonsReport> {
  const log = options.log ?? console.log;
  const mode = options.mode ?? process.env.LESSON4_MODE ?? "full";
  const config = readConfig({ ...process.env, LESSON4_MODE: mode });
  if (!config.sourcesDir)
    log("LESSON4_SOURCES_DIR is not set: MobileNet will be downloaded (needs the internet)");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "lesson4-full-"));
  const dataDir = path.join(work, "data");
  const outDir = path.join(work, "lessons");
  fs.mkdirSync(dataDir);
  const notebooks = listNotebooks(["04-", "05-"]);
  log(
    `lessons-full: ${notebooks.map((n) => path.basename(n)).join(", ")} in ${mode} mode, ` +
      `data folder ${dataDir} (empty)`,
  );
  const started = Date.now();
  try {
    const run = await runNotebooks({
      notebooks,
      outDir,
      env: { LESSON4_MODE: mode, LESSON4_DATA_DIR: dataDir },
      timeoutSeconds: config.cellTimeout,
    });
    const total = (Date.now() - started) / 1000;
    const files = filesUnder(dataDir);
    const featureDir = path.join(dataDir, "features") + path.sep;
    const features = files
      .filter((f) => f.file.startsWith(featureDir) && f.file.endsWith(".npy"))
      .map((f) => f.mtime);
    // The stand-in's photos and lists (statefarm-synthetic-<mode>-seed<seed>/), not submissions.
    const generated = files
      .filter((f) => path.relative(dataDir, f.file).startsWith("statefarm-"))
      .map((f) => f.mtime);
    const summary = JSON.parse(
      fs.readFileSync(path.join(outDir, "summary.json"), "utf8"),
    ) as Array<{ name: string; status: string; seconds: number }>;
    const all: CellTime[] = [];
    const perNotebook = summary.map((s) => {
      const cells = cellStages(path.join(outDir, `${s.name}.ipynb`), generated, features);
      all.push(...cells);
      const stages = zero();
      for (const c of cells) for (const [k, v] of Object.entries(c.stages)) stages[k as Stage] += v;
      const inCells = cells.reduce((a, c) => a + c.seconds, 0);
      stages["kernel start + export"] = Math.max(0, s.seconds - inCells);
      return { name: s.name, status: s.status, seconds: s.seconds, stages };
    });
    if (run.status !== 0)
      log(
        `lessons-full: a notebook failed (status ${run.status}); ` +
          "the times below stop at its failing cell",
      );
    const stages = zero();
    for (const n of perNotebook) for (const s of STAGES) stages[s] += n.stages[s];
    const slowest = [...all].sort((a, b) => b.seconds - a.seconds).slice(0, 8);
    return {
      name: "lessons-full",
      mode,
      total_seconds: Number(total.toFixed(1)),
      notebooks: perNotebook.map((n) => ({ ...n, stages: roundAll(n.stages) })),
      stages: roundAll(stages),
      slowest_cells: slowest.map((c) => ({
        cell: `${c.notebook} cell ${c.index}: ${c.first}`,
        seconds: Number(c.seconds.toFixed(1)),
      })),
    };
  } finally {
    if (options.keep) log(`lessons-full: kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

function roundAll(stages: Record<Stage, number>): Record<Stage, number> {
  return Object.fromEntries(STAGES.map((s) => [s, Number(stages[s].toFixed(1))])) as Record<
    Stage,
    number
  >;
}

/** The report as a table: one column per notebook and the total, one row per stage. */
export function formatLessons(report: LessonsReport): string {
  const cols = [...report.notebooks.map((n) => n.name), "total"];
  const rows = STAGES.map((s) => [
    s,
    ...report.notebooks.map((n) => n.stages[s].toFixed(1)),
    report.stages[s].toFixed(1),
  ]);
  rows.push([
    "notebook (wall clock)",
    ...report.notebooks.map((n) => `${n.seconds.toFixed(1)} ${n.status}`),
    report.total_seconds.toFixed(1),
  ]);
  const head = [`stage (s, ${report.mode} mode)`, ...cols];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  const minutes = (report.total_seconds / 60).toFixed(1);
  return [
    "",
    line(head),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
    `(${minutes} minutes in all, from an empty data folder; total includes starting Jupyter)`,
    "slowest cells:",
    ...report.slowest_cells.map((c) => `  ${c.seconds.toFixed(1).padStart(7)} s  ${c.cell}`),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const report = await timeLessons({ keep: process.argv.includes("--keep") });
  console.log(formatLessons(report));
  console.log(JSON.stringify(report));
  if (report.notebooks.some((n) => n.status !== "ok")) process.exit(1);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
