/**
 * `npm run lessons [-- NAME ...]`: executes the notebooks top to bottom through Jupyter (nbclient
 * with the project's tslab kernel) and writes executed copies, HTML lessons and an index to
 * build/lessons/. Fails naming the notebook, cell and error when a cell fails.
 */
import { spawn } from "child_process";
import * as path from "path";
import { jupyterEnv, listNotebooks, LESSONS_DIR, projectEnv, NOTEBOOK_DIR } from "./lessons";
import { buildSite } from "./lesson-site";
import { readConfig } from "../lib/config";

export interface RunOptions {
  notebooks: string[];
  outDir: string;
  env?: NodeJS.ProcessEnv;
  timeoutSeconds?: number;
  quiet?: boolean;
}

export interface NotebookResult {
  notebook: string;
  name: string;
  status: "ok" | "failed";
  seconds: number;
  error: null | { cell: number | null; ename: string; evalue: string; traceback?: string };
}

/**
 * Runs notebooks with environment/run_notebooks.py; resolves to the exit status and the printed
 * log. Asynchronous, so a caller's event loop (a test worker's, say) stays responsive meanwhile.
 */
export function runNotebooks(options: RunOptions): Promise<{ status: number; output: string }> {
  const env = projectEnv();
  const child = spawn(
    env.python,
    [path.join(__dirname, "..", "environment", "run_notebooks.py"), "--out", options.outDir, "--timeout", String(options.timeoutSeconds ?? 3600), ...options.notebooks],
    { cwd: NOTEBOOK_DIR, env: jupyterEnv(options.env), stdio: options.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ status: code ?? 1, output })));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const env = { LESSON4_MODE: process.env.LESSON4_MODE ?? "full" };
  readConfig({ ...process.env, ...env }); // fail early, naming the variable, on a bad setting
  const notebooks = listNotebooks(args);
  console.log(`Running ${notebooks.length} notebook(s) in ${env.LESSON4_MODE} mode -> ${path.relative(process.cwd(), LESSONS_DIR) || LESSONS_DIR}`);
  const { status } = await runNotebooks({ notebooks, outDir: LESSONS_DIR, env });
  const index = buildSite(LESSONS_DIR);
  console.log(`Lessons index: ${index}`);
  process.exit(status);
}

if (require.main === module) main();
