/**
 * `npm start`: JupyterLab (or the classic Notebook where Lab is absent) on 127.0.0.1 with the
 * notebooks folder open and the project's TypeScript kernel available. Ctrl-C stops it.
 */
import { spawn } from "child_process";
import { randomBytes } from "crypto";
import { jupyterEnv, projectEnv, NOTEBOOK_DIR } from "./lessons";

function main(): void {
  const env = projectEnv();
  if (!env.frontEnd) {
    console.error("No Jupyter front end is installed. Install one, then run `npm start` again:\n  pip install jupyterlab\n  (Debian/Ubuntu: sudo apt-get install jupyter-notebook)");
    process.exit(1);
  }
  const port = process.env.LESSON4_PORT ?? "8888";
  const token = process.env.LESSON4_TOKEN ?? randomBytes(16).toString("hex");
  const app = env.frontEnd === "lab" ? "jupyterlab" : "notebook";
  const args = ["-m", app, "--no-browser", `--ip=${process.env.LESSON4_IP ?? "127.0.0.1"}`, `--port=${port}`, `--notebook-dir=${NOTEBOOK_DIR}`, `--NotebookApp.token=${token}`, `--ServerApp.token=${token}`, "--MappingKernelManager.default_kernel_name=lesson4-ts"];
  const server = spawn(env.python, args, { cwd: NOTEBOOK_DIR, env: jupyterEnv(), stdio: ["ignore", "inherit", "pipe"] });
  let announced = false;
  server.stderr.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    process.stderr.write(text);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/\S*token=\S+)/.exec(text)?.[1];
    if (url && !announced) {
      announced = true;
      console.log(`\nThe lessons are open at:\n  ${url}\nKernel: "TypeScript (lesson4-ts)". Press Ctrl-C to stop.\n`);
    }
  });
  const stop = () => server.kill("SIGTERM");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  server.on("exit", (code) => process.exit(code ?? 0));
}

main();
