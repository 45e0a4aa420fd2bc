/**
 * Running a peer script under with_rss.py and reading back its JSON lines, shared by every
 * benchmark's PyTorch and Keras peers.
 */
import * as path from "path";
import { spawn } from "child_process";
import { PEER_PYTHON } from "./collab";

export interface PeerRun {
  code: number | null;
  /** The JSON lines the script printed (one per repetition, and with_rss.py's {"max_rss_kb"}). */
  lines: Array<Record<string, number | string>>;
  /** The last lines of its standard error, for the "skipped" reason when it failed. */
  error: string;
  /** Its peak resident memory, in MB, when reported. */
  maxRssMb: number | null;
}

/** Runs `script args...` with `python` (default the PyTorch peers'), measuring its peak RSS. */
export async function runPeerScript(
  script: string,
  args: string[],
  python: string = PEER_PYTHON,
): Promise<PeerRun> {
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    const child = spawn(python, [path.join(__dirname, "with_rss.py"), script, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", (e) => resolve({ code: -1, stdout: out, stderr: String(e) }));
    child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const lines = stdout
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, number | string>);
  const rssKb = lines.find((l) => "max_rss_kb" in l)?.max_rss_kb;
  return {
    code,
    lines,
    error: stderr.trim().split("\n").slice(-2).join(" "),
    maxRssMb: typeof rssKb === "number" ? rssKb / 1024 : null,
  };
}
