/**
 * Runs one of kernel/tests' Python drivers (jupyter_client against the project's kernel, from
 * the notebooks folder) and reads the JSON it writes: what a front end received, step by step.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jupyterEnv, projectEnv, ROOT, NOTEBOOK_DIR } from "../../scripts/lessons";

export function driveKernel<T>(script: string): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lesson4-kernel-driver-"));
  const out = path.join(dir, "results.json");
  const child = spawn(
    projectEnv().python,
    [path.join(ROOT, "kernel", "tests", script), NOTEBOOK_DIR, out],
    {
      cwd: NOTEBOOK_DIR,
      env: jupyterEnv(),
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`${script} failed (${code}): ${stderr}`));
      else resolve(JSON.parse(fs.readFileSync(out, "utf8")) as T);
    }),
  );
}
