/**
 * `npm run lessons [-- [--rerun] NAME ...]`: executes the notebooks top to bottom through Jupyter
 * (nbclient with the project's tslab kernel) and writes executed copies, HTML lessons and an index
 * to build/lessons/. Fails naming the notebook, cell and error when a cell fails. `--rerun` then
 * runs each code cell once more, as a learner going back over a lesson, and reports live tensors.
 */
import { spawn } from "child_process";
import * as path from "path";
import { jupyterEnv, listNotebooks, LESSONS_DIR, projectEnv, NOTEBOOK_DIR } from "./lessons";
import { buildSite } from "./lesson-site";
import { ConfigError, readConfig, type Config } from "../lib/config";

export interface RunOptions {
  notebooks: string[];
  outDir: string;
  env?: NodeJS.ProcessEnv;
  timeoutSeconds?: number;
  quiet?: boolean;
  /** After each notebook's run, re-run each of its code cells once more, in order (tests). */
  rerun?: boolean;
}

export interface NotebookResult {
  notebook: string;
  name: string;
  status: "ok" | "failed";
  seconds: number;
  error: null | {
    cell: number | null;
    rerun?: boolean;
    ename: string;
    evalue: string;
    traceback?: string;
  };
  /** With `rerun`: live tfjs tensors after the first run and after the re-run. */
  rerun: null | { tensors_after_run: number | null; tensors_after_rerun: number | null };
}

/**
 * Runs notebooks with environment/run_notebooks.py; resolves to the exit status and the printed
 * log. Asynchronous, so a caller's event loop (a test worker's, say) stays responsive meanwhile.
 */
export function runNotebooks(options: RunOptions): Promise<{ status: number; output: string }> {
  const env = projectEnv();
  const child = spawn(
    env.python,
    [
      path.join(__dirname, "..", "environment", "run_notebooks.py"),
      "--out",
      options.outDir,
      "--timeout",
      String(options.timeoutSeconds ?? readConfig({ ...process.env, ...options.env }).cellTimeout),
      ...(options.rerun ? ["--rerun"] : []),
      ...options.notebooks,
    ],
    {
      cwd: NOTEBOOK_DIR,
      env: jupyterEnv(options.env),
      stdio: options.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) =>
    child.on("close", (code) => resolve({ status: code ?? 1, output })),
  );
}

async function main(): Promise<void> {
  const rerun = process.argv.includes("--rerun");
  const args = process.argv.slice(2).filter((a) => a !== "--rerun");
  const env = { LESSON4_MODE: process.env.LESSON4_MODE ?? "full" };
  let config: Config;
  let notebooks: string[];
  try {
    config = readConfig({ ...process.env, ...env }); // fail early, naming the variable
    notebooks = listNotebooks(args);
  } catch (e) {
    if (!(e instanceof ConfigError) && !/^No notebook matches/.test((e as Error).message)) throw e;
    console.error(`npm run lessons: ${(e as Error).message}`);
    process.exit(2);
  }
  const where = path.relative(process.cwd(), LESSONS_DIR) || LESSONS_DIR;
  console.log(
    `Running ${notebooks.length} notebook(s) in ${config.mode} mode -> ${where} (at most ${config.cellTimeout} s a cell)`,
  );
  const timeoutSeconds = config.cellTimeout;
  const { status } = await runNotebooks({
    notebooks,
    outDir: LESSONS_DIR,
    env,
    timeoutSeconds,
    rerun,
  });
  const index = buildSite(LESSONS_DIR);
  console.log(`Lessons index: ${index}`);
  process.exit(status);
}

if (require.main === module) main();
