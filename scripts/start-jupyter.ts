/**
 * `npm start`: JupyterLab (or the classic Notebook where Lab is absent) on 127.0.0.1 with the
 * notebooks folder open and the project's TypeScript kernel available. Ctrl-C stops it.
 * `startJupyter()` is the same start-up for the browser tests.
 */
import { spawn, type ChildProcess } from "child_process";
import { randomBytes } from "crypto";
import * as path from "path";
import { jupyterEnv, projectEnv, NOTEBOOK_DIR, ROOT, type ProjectEnv } from "./lessons";

export interface JupyterOptions {
  /** Port to listen on (default LESSON4_PORT or 8888; Jupyter moves to a free one next to it when taken). */
  port?: number;
  /** Access token (default LESSON4_TOKEN or a random one). */
  token?: string;
  /** Address to listen on (default LESSON4_IP or 127.0.0.1). */
  ip?: string;
  /** The folder the server opens (default notebooks/). */
  notebookDir?: string;
  /** Where Jupyter's own log goes (default this process's stderr). */
  log?: (text: string) => void;
  /** What environment/setup.mjs found (default build/env.json). */
  env?: ProjectEnv;
  /** Seconds to wait for the server to answer (default 90). */
  startSeconds?: number;
}

export interface JupyterServer {
  frontEnd: "lab" | "notebook";
  /** The server's root, e.g. http://127.0.0.1:8888/ */
  baseUrl: string;
  token: string;
  /** The notebooks folder in the front end, with the token: the address to open. */
  url: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 15 s) and resolves when it has exited. */
  stop(): Promise<void>;
}

/** Jupyter is not installed where the project looked: the message says what to install. */
export class JupyterMissingError extends Error {
  constructor(detail: string) {
    super(
      `${detail}\nInstall Jupyter, then run \`npm start\` again:\n` +
        `  pip install jupyterlab            (or: python3 -m pip install --user jupyterlab)\n` +
        `  Debian/Ubuntu: sudo apt-get install jupyter-notebook\n` +
        `Then run \`npm run setup\` so the project finds it, or set LESSON4_PYTHON to a Python that has it.`,
    );
    this.name = "JupyterMissingError";
  }
}

/** Starts the project's Jupyter server and resolves once it answers HTTP requests. */
export async function startJupyter(options: JupyterOptions = {}): Promise<JupyterServer> {
  const env = options.env ?? projectEnv();
  if (!env.frontEnd)
    throw new JupyterMissingError(
      `No Jupyter front end (JupyterLab or Notebook) was found for ${env.python}.`,
    );
  const frontEnd = env.frontEnd;
  const ip = options.ip ?? process.env.LESSON4_IP ?? "127.0.0.1";
  const port = options.port ?? Number(process.env.LESSON4_PORT ?? 8888);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(
      `LESSON4_PORT must be a port number (0-65535); got "${process.env.LESSON4_PORT}".`,
    );
  const token = options.token ?? process.env.LESSON4_TOKEN ?? randomBytes(16).toString("hex");
  const notebookDir = options.notebookDir ?? NOTEBOOK_DIR;
  const log = options.log ?? ((text: string) => process.stderr.write(text));
  const app = frontEnd === "lab" ? "jupyterlab" : "notebook";
  const settings = frontEnd === "lab" ? "ServerApp" : "NotebookApp";
  const args = [
    "-m",
    app,
    "--no-browser",
    `--ip=${ip}`,
    `--port=${port}`,
    `--notebook-dir=${notebookDir}`,
    `--${settings}.token=${token}`,
    "--MappingKernelManager.default_kernel_name=lesson4-ts",
  ];
  // File > Save and Export Notebook As > HTML uses the lessons' template: a page that opens
  // offline (no require.js or MathJax from a CDN), as `npm run lessons` writes them.
  const templates = path.join(ROOT, "environment", "templates");
  const vendor = path.join(ROOT, "build", "vendor"); // the widgets' renderer (environment/setup.mjs)
  args.push(
    "--HTMLExporter.template_name=lesson4",
    `--HTMLExporter.extra_template_basedirs=${templates}`,
  );
  args.push(`--HTMLExporter.extra_template_paths=${vendor}`);
  // The widgets' state is saved with the notebook (environment/jupyter/lab-settings), so a page
  // exported from Lab shows the controls where the learner left them.
  if (frontEnd === "lab")
    args.push(
      `--LabApp.app_settings_dir=${path.join(ROOT, "environment", "jupyter", "lab-settings")}`,
    );
  if (process.getuid?.() === 0) args.push("--allow-root"); // containers run as root; Jupyter refuses without this
  const child = spawn(env.python, args, {
    cwd: notebookDir,
    env: jupyterEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  const announced = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      log(text);
      const url = /(https?:\/\/[^\s/]+:\d+\/)\S*token=/.exec(output)?.[1];
      if (url)
        resolve(
          url.replace(
            /\/\/(0\.0\.0\.0|\[::\]|localhost)/,
            `//${ip === "0.0.0.0" ? "127.0.0.1" : ip}`,
          ),
        );
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (e) =>
      reject(new JupyterMissingError(`Could not run ${env.python}: ${e.message}.`)),
    );
    child.once("exit", (code, signal) => {
      const tail = output.trim().split("\n").slice(-8).join("\n");
      if (/No module named/.test(output))
        reject(new JupyterMissingError(`${env.python} -m ${app} failed: ${tail}`));
      else
        reject(new Error(`Jupyter stopped before it was ready (exit ${code ?? signal}):\n${tail}`));
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    const deadline = Date.now() + (options.startSeconds ?? 90) * 1000;
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () =>
          reject(
            new Error(
              `Jupyter did not start within ${options.startSeconds ?? 90} s:\n${output.slice(-2000)}`,
            ),
          ),
        deadline - Date.now(),
      ).unref(),
    );
    const baseUrl = await Promise.race([announced, timeout]);
    // The URL is printed just before the server accepts requests: wait until its API answers.
    for (;;) {
      const ok = await fetch(`${baseUrl}api/status?token=${token}`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(
          `Jupyter printed ${baseUrl} but did not answer there within ${options.startSeconds ?? 90} s.`,
        );
      if (child.exitCode !== null) await announced; // rethrows why it stopped
      await new Promise((r) => setTimeout(r, 200));
    }
    const url = `${baseUrl}${frontEnd === "lab" ? "lab/tree" : "tree"}?token=${token}`;
    return { frontEnd, baseUrl, token, url, process: child, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function main(): Promise<void> {
  let server: JupyterServer;
  try {
    server = await startJupyter();
  } catch (e) {
    console.error(`\n${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  console.log(
    `\nThe lessons (notebooks/) are open at:\n  ${server.url}\nKernel: "TypeScript (lesson4-ts)". Press Ctrl-C to stop.\n`,
  );
  let stopping = false;
  const shutdown = () => {
    if (stopping) return void server.process.kill("SIGKILL"); // a second Ctrl-C: do not wait
    stopping = true;
    console.log("\nStopping Jupyter (kernels are shut down)...");
    server.stop().then(() => {
      console.log("Jupyter stopped.");
      process.exit(0);
    });
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  server.process.on("exit", (code) => {
    if (!stopping) {
      console.error(`Jupyter exited by itself (status ${code}).`);
      process.exit(code ?? 1);
    }
  });
}

if (require.main === module) main();
