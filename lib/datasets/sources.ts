/**
 * Getting data files: from `data/` if already there, else from a pre-downloaded copy under
 * LESSON4_SOURCES_DIR, else by downloading — always written to a temp name and renamed, so an
 * interrupted or failed transfer never leaves a half-written file behind.
 */
import * as fs from "fs";
import * as path from "path";
import { readConfig, type Config } from "../config";

/** A download that failed; the message says what to do instead. */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DownloadError";
  }
}

/** The path of `relative` inside LESSON4_SOURCES_DIR when that folder holds it, else null. */
export function fromSources(
  relative: string,
  config: Pick<Config, "sourcesDir"> = readConfig(),
): string | null {
  if (!config.sourcesDir) return null;
  const candidate = path.join(config.sourcesDir, relative);
  return fs.existsSync(candidate) ? candidate : null;
}

export interface DownloadOptions {
  /** Expected size in bytes; a different size fails the download. */
  bytes?: number;
  /** Called with (received, total or NaN) as data arrives. */
  onProgress?: (received: number, total: number) => void;
  /** What to tell the user to do by hand if the download fails. */
  manualHint?: string;
  /** The fetch to use (tests pass one that fails). */
  fetchImpl?: typeof fetch;
}

/** Writes `data` to `file` through a temp file in the same folder, then renames it. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } finally {
    if (fs.existsSync(tmp)) fs.rmSync(tmp, { force: true });
  }
}

/** Downloads `url` to `dest` (temp name, then rename), verifying the size when given. */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<string> {
  const hint =
    options.manualHint ??
    `download ${url} yourself and save it as ${dest}, or set LESSON4_SOURCES_DIR to a folder that holds a copy`;
  const tmp = `${dest}.${process.pid}.download.tmp`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  try {
    let response: Response;
    try {
      response = await (options.fetchImpl ?? fetch)(url);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new DownloadError(
        `Could not download ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message} (are you offline?). To continue, ${hint}.`,
      );
    }
    if (!response.ok || !response.body)
      throw new DownloadError(
        `Could not download ${url}: the server answered ${response.status} ${response.statusText}. To continue, ${hint}.`,
      );
    const total = Number(response.headers.get("content-length") ?? NaN);
    const out = fs.createWriteStream(tmp);
    let received = 0;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        received += chunk.length;
        if (!out.write(chunk))
          await new Promise<void>((resolve) => out.once("drain", () => resolve()));
        options.onProgress?.(received, total);
      }
    } catch (error) {
      throw new DownloadError(
        `The download of ${url} broke off after ${received} bytes: ${(error as Error).message}. To continue, ${hint}.`,
      );
    } finally {
      await new Promise<void>((resolve) => out.end(() => resolve()));
    }
    const expected = options.bytes ?? (Number.isFinite(total) ? total : undefined);
    if (expected !== undefined && received !== expected) {
      throw new DownloadError(
        `The download of ${url} is incomplete: ${received} of ${expected} bytes. To continue, ${hint}.`,
      );
    }
    fs.renameSync(tmp, dest);
    return dest;
  } finally {
    if (fs.existsSync(tmp)) fs.rmSync(tmp, { force: true });
  }
}
