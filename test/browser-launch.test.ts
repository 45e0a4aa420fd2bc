/**
 * `npm start` as a person uses it: it prints the address with its token, the server answers
 * there, and Ctrl-C (SIGINT to the terminal's process group) stops everything cleanly. Without
 * Jupyter it says what to install.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "child_process";
import * as path from "path";
import { JupyterMissingError, startJupyter } from "../scripts/start-jupyter";
import { ROOT, projectEnv } from "../scripts/lessons";
import { freePort } from "./support/ports";

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start", () => {
  it("explains what to install when no Jupyter front end was found", async () => {
    const env = { ...projectEnv(), frontEnd: null };
    const failure = startJupyter({ env });
    await expect(failure).rejects.toBeInstanceOf(JupyterMissingError);
    await expect(failure).rejects.toThrow(
      /pip install jupyterlab[^]*apt-get install jupyter-notebook[^]*LESSON4_PYTHON/,
    );
  });

  it("explains what to install when the Python it was given cannot run", async () => {
    const env = {
      ...projectEnv(),
      python: path.join(ROOT, "build", "no-such-python"),
      frontEnd: "notebook" as const,
    };
    await expect(
      startJupyter({ env, port: await freePort(), log: () => undefined }),
    ).rejects.toThrow(/Could not run .*no-such-python[^]*pip install jupyterlab/);
  });

  it.runIf(projectEnv().frontEnd)(
    "prints the URL with its token, serves the notebooks, and stops cleanly on Ctrl-C",
    async () => {
      const port = await freePort();
      const token = "launchtest0123456789";
      // Its own process group, as a terminal gives a command: Ctrl-C signals the whole group.
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(ROOT, "scripts", "start-jupyter.ts")],
        {
          cwd: ROOT,
          detached: true,
          env: { ...process.env, LESSON4_PORT: String(port), LESSON4_TOKEN: token },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => resolve(code)),
      );
      try {
        const deadline = Date.now() + 90_000;
        while (!/open at:\n\s+(\S+)/.test(stdout)) {
          if (Date.now() > deadline || child.exitCode !== null)
            throw new Error(`no URL printed:\n${stdout}\n${stderr}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        const url = /open at:\n\s+(\S+)/.exec(stdout)![1];
        expect(url).toBe(
          `http://127.0.0.1:${port}/${projectEnv().frontEnd === "lab" ? "lab/tree" : "tree"}?token=${token}`,
        );
        expect(stdout).toContain('Kernel: "TypeScript (lesson4-ts)"');
        // The server's folder is notebooks/, and the project's kernel is on offer.
        const contents = (await (
          await fetch(`http://127.0.0.1:${port}/api/contents?token=${token}`)
        ).json()) as { content: Array<{ name: string }> };
        expect(contents.content.map((c) => c.name)).toContain("00-setup-check.ipynb");
        const specs = (await (
          await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`)
        ).json()) as { default: string; kernelspecs: Record<string, unknown> };
        expect(specs.default).toBe("lesson4-ts");
        expect(Object.keys(specs.kernelspecs)).toContain("lesson4-ts");
        expect((await fetch(`http://127.0.0.1:${port}/api/contents`)).status).toBe(403); // the token is required

        process.kill(-child.pid!, "SIGINT");
        const code = await Promise.race([
          exited,
          new Promise<string>((r) => setTimeout(() => r("still running"), 30_000)),
        ]);
        expect(code).toBe(0);
        expect(stdout).toContain("Jupyter stopped.");
        await expect.poll(() => groupAlive(child.pid!), { timeout: 10_000 }).toBe(false); // no Jupyter left behind
        await expect(fetch(`http://127.0.0.1:${port}/api/status`)).rejects.toThrow();
      } finally {
        if (groupAlive(child.pid!)) process.kill(-child.pid!, "SIGKILL");
      }
    },
    150_000,
  );
});
