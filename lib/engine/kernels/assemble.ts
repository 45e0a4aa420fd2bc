/**
 * Turns the kernels' WebAssembly text (the .wat files beside this one) into the module's bytes with wabt's
 * assembler, on first use, and keeps the bytes in `<data>/build` under a hash of the text, so later processes
 * skip the assembler. Nothing compiled is committed: the .wat files are the source.
 *
 * The .wat files hold the module's functions only; the module around them imports the tfjs wasm backend's
 * memory (the kernels work on tensors where the backend keeps them, so the module has no memory or data of its
 * own). The threaded backend's memory is shared, and a module must declare an imported memory shared to link
 * with it, so there are two modules from the same functions: one for each kind of memory.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { readConfig } from "../../config";

/**
 * The kernels' source files, in the module's order. The generic kernels first; channel-shift.wat is
 * lesson-shaped (the State Farm augmenter's channel shift) and kept apart.
 */
export const KERNEL_SOURCES = [
  "adam.wat",
  "elementwise.wat",
  "matmul.wat",
  "batchnorm.wat",
  "pooling.wat",
  "warp.wat",
  "dropout.wat",
  "channel-shift.wat",
] as const;

/** The post-MVP features the kernels use: SIMD, memory.fill, trunc_sat, and a shared memory import. */
const FEATURES = { simd: true, bulk_memory: true, sat_float_to_int: true, threads: true };

/** The module's text for a shared (threaded backend) or plain memory. */
export function moduleText(shared: boolean): string {
  // Page counts: at least 0, and for shared memory a maximum is required: 65536 pages is 4 GiB, all a
  // 32-bit address can reach, so any size the backend grows to links.
  const memory = shared ? "(memory 0 65536 shared)" : "(memory 0)";
  const fields = KERNEL_SOURCES.map((file) => fs.readFileSync(path.join(__dirname, file), "utf8"));
  return `(module\n(import "env" "memory" ${memory})\n${fields.join("\n")}\n)\n`;
}

const assembled = new Map<boolean, Uint8Array>();

/** Where the bytes for this text are kept between processes (null where no folder can be made). */
function cacheFile(text: string): string | null {
  const wabtVersion = require("wabt/package.json").version as string;
  const hash = crypto
    .createHash("sha256")
    .update(wabtVersion)
    .update(text)
    .digest("hex")
    .slice(0, 16);
  try {
    return path.join(readConfig().dataDir, "build", `simd-kernels-${hash}.wasm`);
  } catch {
    return null; // a configuration error surfaces where the configuration is used, not here
  }
}

function readCache(file: string | null): Uint8Array | null {
  if (!file || !fs.existsSync(file)) return null;
  const bytes = new Uint8Array(fs.readFileSync(file));
  return WebAssembly.validate(bytes) ? bytes : null;
}

/** Keeps the bytes for the next process (written under a temporary name, then renamed: never half a file). */
function writeCache(file: string | null, bytes: Uint8Array): void {
  if (!file) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, bytes);
    fs.renameSync(temp, file);
  } catch {
    // a read-only data folder: assemble again next time
  }
}

/** What the assembler runs, in this process or in a child: text in, bytes out, or an error naming the line. */
interface Wabt {
  parseWat(
    name: string,
    text: string,
    features: object,
  ): {
    validate(features: object): void;
    toBinary(options: object): { buffer: Uint8Array };
    destroy(): void;
  };
}
function assembleWith(wabt: Wabt, text: string): Uint8Array {
  const module = wabt.parseWat("simd-kernels.wat", text, FEATURES);
  try {
    module.validate(FEATURES);
    return Uint8Array.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

/**
 * The module's bytes, assembled in this process (wabt starts asynchronously): initBackend awaits this for both
 * kinds of memory before it registers the kernels, so their first use finds the bytes ready.
 */
export async function prepareKernelModule(shared: boolean): Promise<Uint8Array> {
  const ready = assembled.get(shared);
  if (ready) return ready;
  const text = moduleText(shared);
  const file = cacheFile(text);
  let bytes = readCache(file);
  if (!bytes) {
    const wabt = (await (require("wabt") as () => Promise<Wabt>)()) as Wabt;
    bytes = assembleWith(wabt, text);
    writeCache(file, bytes);
  }
  assembled.set(shared, bytes);
  return bytes;
}

/**
 * The module's bytes now: prepared, else from the cache, else assembled by wabt in a child process (which
 * can wait for wabt's asynchronous start where this synchronous call cannot). That last case is a cold cache
 * without initBackend, e.g. a test that binds the kernels to a memory of its own.
 */
export function kernelModuleBytes(shared: boolean): Uint8Array {
  const ready = assembled.get(shared);
  if (ready) return ready;
  const text = moduleText(shared);
  const file = cacheFile(text);
  let bytes = readCache(file);
  if (!bytes) {
    const script = [
      `const text = require("fs").readFileSync(0, "utf8");`,
      `require(${JSON.stringify(require.resolve("wabt"))})().then((wabt) => {`,
      `  const module = wabt.parseWat("simd-kernels.wat", text, ${JSON.stringify(FEATURES)});`,
      `  module.validate(${JSON.stringify(FEATURES)});`,
      `  process.stdout.write(Buffer.from(module.toBinary({}).buffer));`,
      `});`,
    ].join("\n");
    bytes = new Uint8Array(
      execFileSync(process.execPath, ["-e", script], { input: text, maxBuffer: 1 << 24 }),
    );
    writeCache(file, bytes);
  }
  assembled.set(shared, bytes);
  return bytes;
}
