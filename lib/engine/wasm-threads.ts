/**
 * Starts tfjs-wasm's multi-threaded build in Node, so XNNPACK's matrix products and convolutions use every core.
 * tfjs 4.22 turns threads off in Node (tensorflow/tfjs#3830) because its glue loads the pthread workers from
 * `blob:` URLs, which Node's worker_threads refuses. Here the worker script is written to a file once, and while the
 * backend starts, URL.createObjectURL hands that file's path to the glue. The backend sizes XNNPACK's thread pool
 * as half the logical CPUs (it assumes two hyperthreads per core) whatever setThreadsCount says, so for that moment
 * os.cpus() reports twice the threads wanted (both patches: tfjs-patches.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { wasmMemoryOf } from "./wasm-simd";
import { withThreadedStartPatches } from "./tfjs-patches";

const THREADED_MAIN = "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js";
const THREADED_WORKER =
  "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js";

/** Whether this Node can run wasm threads at all (shared memory and worker_threads). */
export function wasmThreadsPossible(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  try {
    new WebAssembly.Memory({
      initial: 1,
      maximum: 1,
      shared: true,
    } as WebAssembly.MemoryDescriptor);
    require("worker_threads");
    return true;
  } catch {
    return false;
  }
}

/**
 * The pthread worker script, written under the OS temp folder when missing or different (temp name, then rename).
 * The glue's own worker code, plus one change: the "load" message carries the main script as a Blob, which the
 * worker could only read asynchronously, so it is swapped for the path of the same script in node_modules.
 */
export function threadedWorkerScript(
  dir = path.join(os.tmpdir(), `lesson4-tfjs-wasm-${tf.version.tfjs}`),
): string {
  const file = path.join(dir, "threaded-simd.worker.js");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const contents: string = require(THREADED_WORKER).wasmWorkerContents;
  const mainScript = require.resolve(THREADED_MAIN);
  // As the backend does before making its Blob: the template literal turned "\n" in string literals into newlines.
  const script = `${contents.replace(/\n/g, "\\n")}
;(function () {
  const handle = self.onmessage;
  self.onmessage = (e) => {
    if (e.data && e.data.cmd === "load" && typeof e.data.urlOrBlob !== "string") e.data.urlOrBlob = ${JSON.stringify(mainScript)};
    return handle(e);
  };
})();
`;
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === script) return file;
  fs.mkdirSync(dir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, script);
  fs.renameSync(temp, file);
  return file;
}

/**
 * Runs `start` (which must start the wasm backend) with the threaded build enabled for `threads` threads; returns
 * what it returns. tfjs-patches.ts says what is patched for that moment, and restores it afterwards.
 */
export function withThreadedWasm<T>(threads: number, start: () => Promise<T>): Promise<T> {
  return withThreadedStartPatches(threads, threadedWorkerScript(), start);
}

/** Turns the threaded build off again (for a fallback start after a failed threaded one). */
export function disableWasmThreads(): void {
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
}

/** Threads XNNPACK runs on in the started wasm backend (1 for the single-threaded build). */
export function wasmThreadsInUse(): number {
  const wasm = (tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } })
    .wasm;
  return wasm?.tfjs?.getThreadsCount?.() ?? 1;
}

/** Whether the started wasm backend runs on shared memory (the threaded build). */
export function wasmSharedMemory(): boolean {
  const memory = wasmMemoryOf(tf.backend());
  return typeof SharedArrayBuffer !== "undefined" && memory?.buffer instanceof SharedArrayBuffer;
}
