/**
 * Where the lessons live and how to reach the project's Jupyter set-up (shared by the lesson
 * runner, the launcher and the tests).
 */
import * as fs from "fs";
import * as path from "path";
import { findProjectRoot } from "../lib/config";

export const ROOT = findProjectRoot(__dirname);
export const NOTEBOOK_DIR = path.join(ROOT, "notebooks");
export const BUILD_DIR = path.join(ROOT, "build");
export const LESSONS_DIR = path.join(BUILD_DIR, "lessons");
export const KERNELSPEC = {
  name: "lesson4-ts",
  display_name: "TypeScript (lesson4-ts)",
  language: "typescript",
};

export interface ProjectEnv {
  python: string;
  frontEnd: "lab" | "notebook" | null;
  jupyterPath: string;
  chromium: string | null;
  kernelTests: boolean;
  /** A Python with torch, torchvision and pandas for the benchmark peers (`setup --with-bench`). */
  peerPython?: string | null;
}

/** What environment/setup.mjs found; it must have run first. */
export function projectEnv(): ProjectEnv {
  const file = path.join(BUILD_DIR, "env.json");
  if (!fs.existsSync(file))
    throw new Error(
      `${file} is missing: run \`node environment/setup.mjs\` (every npm script does) first.`,
    );
  return JSON.parse(fs.readFileSync(file, "utf8")) as ProjectEnv;
}

/** Environment for Jupyter processes: the project's kernelspec on JUPYTER_PATH. */
export function jupyterEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = projectEnv();
  const jupyterPath = [env.jupyterPath, process.env.JUPYTER_PATH]
    .filter(Boolean)
    .join(path.delimiter);
  return { ...process.env, JUPYTER_PATH: jupyterPath, ...extra };
}

/** The lesson notebooks in reading order (file names start with their number). */
export function listNotebooks(filters: string[] = []): string[] {
  const all = fs
    .readdirSync(NOTEBOOK_DIR)
    .filter((f) => f.endsWith(".ipynb"))
    .sort();
  const chosen = filters.length ? all.filter((f) => filters.some((x) => f.includes(x))) : all;
  if (filters.length && !chosen.length)
    throw new Error(
      `No notebook matches ${filters.join(", ")}; the notebooks are: ${all.join(", ")}`,
    );
  return chosen.map((f) => path.join(NOTEBOOK_DIR, f));
}
