/**
 * The one place that chooses the tfjs engine: native TensorFlow where installed, else wasm
 * (with the kernels it lacks registered), else the pure-JS cpu backend, and says which.
 */
import * as tf from "@tensorflow/tfjs";
import { allWasmThreads, readConfig, type BackendChoice } from "../config";
import * as os from "os";
import { registerFasterWasmKernels, registerMissingWasmKernels } from "./wasm-kernels";
import { prepareSimdKernels } from "./wasm-simd";
import { wasmBackendFactory } from "./tfjs-patches";
import {
  disableWasmThreads,
  wasmSharedMemory,
  wasmThreadsInUse,
  wasmThreadsPossible,
  withThreadedWasm,
} from "./wasm-threads";
import { finishPendingStep } from "./deferred-step";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** One line saying why this one, and why not the faster ones. */
  reason: string;
  /** tensorflow only: the package that runs it (@tensorflow/tfjs-node or -node-gpu). */
  package?: string;
  /** Kernels this project registered on top of the backend's own. */
  addedKernels: string[];
  /** wasm only: whether SIMD instructions are used. */
  simd?: boolean;
  /** wasm only: threads XNNPACK runs on (1: the single-threaded build), and why not more where that applies. */
  threads?: number;
  threadsNote?: string;
  /** wasm only: whether it runs the threaded build (shared memory), which the fused Adam's helper thread needs. */
  sharedMemory?: boolean;
}

const ORDER: BackendName[] = ["tensorflow", "wasm", "cpu"];
let current: BackendInfo | null = null;

/** Package name of the optional native backend (an npm alias of `@tensorflow/tfjs-node`). */
export const NATIVE_PACKAGE = "tfjs-node-native";
/** TensorFlow with CUDA: tried first, so a GPU machine where a user installed it trains there. */
export const NATIVE_GPU_PACKAGE = "@tensorflow/tfjs-node-gpu";
/** The native packages `auto` and `tensorflow` try, in order. */
export const NATIVE_PACKAGES = [NATIVE_GPU_PACKAGE, NATIVE_PACKAGE] as const;

/** The native package that started the tensorflow backend, for describeBackend. */
let nativeLoaded: string | undefined;

/**
 * Loads the first native package that is installed and starts its backend. `load` is `require`
 * (a test passes another); a package that is installed but fails is reported, not skipped.
 */
export async function tryNative(
  packages: readonly string[] = NATIVE_PACKAGES,
  load: (name: string) => unknown = require,
): Promise<string | null> {
  for (const name of packages) {
    try {
      load(name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message = (error as Error).message;
      if (code === "MODULE_NOT_FOUND" && message.includes(`'${name}'`)) continue;
      return `${publicName(name)} failed to load: ${message.split("\n")[0]}`;
    }
    if (!(await tf.setBackend("tensorflow")))
      return `${publicName(name)} loaded but its backend did not start`;
    nativeLoaded = publicName(name);
    return null;
  }
  return (
    "@tensorflow/tfjs-node is not installed (it needs internet access at install time; " +
    "on a GPU machine, @tensorflow/tfjs-node-gpu)"
  );
}

/** What a user installs: the alias tfjs-node-native is @tensorflow/tfjs-node. */
function publicName(name: string): string {
  return name === NATIVE_PACKAGE ? "@tensorflow/tfjs-node" : name;
}

let threadsNote: string | undefined;

/**
 * How to start wasm: XNNPACK's pool size, and whether to use the threaded build (shared memory) even for a pool
 * of one, which lets the fused Adam split large weights with a helper thread (simd-helper.ts).
 */
interface WasmStart {
  threads: number;
  shared: boolean;
}

async function tryWasm({ threads, shared }: WasmStart): Promise<string | null> {
  try {
    await import("@tensorflow/tfjs-backend-wasm");
  } catch (error) {
    return `@tensorflow/tfjs-backend-wasm failed to load: ${(error as Error).message.split("\n")[0]}`;
  }
  threadsNote = undefined;
  if (shared && wasmThreadsPossible()) {
    try {
      if (await withThreadedWasm(threads, () => tf.setBackend("wasm"))) return null;
      threadsNote = "the threaded wasm build did not start";
    } catch (error) {
      threadsNote = `the threaded wasm build failed: ${(error as Error).message.split("\n")[0]}`;
    }
  } else if (shared) threadsNote = "this Node has no shared WebAssembly memory";
  disableWasmThreads();
  return (await tf.setBackend("wasm")) ? null : "the wasm backend did not start";
}

/**
 * Options for initBackend. `threads`: XNNPACK threads on wasm when LESSON4_WASM_THREADS is unset. "all" (the CPU
 * count, at most 4) suits image models, whose convolutions and large products split well across cores; 1, the
 * default, suits small models (collaborative filtering, the optimizer lessons), where handing each tiny op to a
 * thread pool costs more than it saves (docs/performance-engine.md has the numbers). Either way,
 * on a multi-core machine the threaded build runs, so that the fused Adam can use a second core for large weights;
 * LESSON4_WASM_THREADS=1 asks for the single-threaded build instead.
 */
export interface BackendOptions {
  threads?: "all" | number;
}

function wantedStart(options: BackendOptions): WasmStart {
  const configured = readConfig().wasmThreads;
  if (configured !== null) return { threads: configured, shared: configured > 1 };
  const threads =
    options.threads === "all" ? allWasmThreads() : Math.max(1, Math.floor(options.threads ?? 1));
  return { threads, shared: threads > 1 || os.cpus().length > 1 };
}

/** Starts the wasm backend again with another thread count (its tensors are lost; kernels stay registered). */
async function restartWasm(start: WasmStart): Promise<void> {
  const registered = wasmBackendFactory();
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", registered.factory, registered.priority);
  const failure = await tryWasm(start);
  if (failure)
    throw new Error(
      `restarting the wasm backend with ${start.threads} thread(s) failed: ${failure}`,
    );
  noteWasmThreads(current!);
}

/** Records on `info` how the wasm backend just started: XNNPACK's threads, shared memory, and why not threaded. */
function noteWasmThreads(info: BackendInfo): void {
  info.threads = wasmThreadsInUse();
  info.sharedMemory = wasmSharedMemory();
  if (threadsNote) info.threadsNote = threadsNote;
  else delete info.threadsNote;
}

/**
 * Selects and starts a backend. `auto` tries tensorflow -> wasm -> cpu; naming one backend
 * uses it or fails with the reason. Safe to call again: returns the backend already chosen
 * unless a different one (or, on wasm, another thread count) is asked for.
 */
export async function initBackend(
  choice: BackendChoice = readConfig().backend,
  options: BackendOptions = {},
): Promise<BackendInfo> {
  const start = wantedStart(options);
  finishPendingStep(); // a helper thread's step must land before its backend changes
  if (current && (choice === "auto" || choice === current.name)) {
    // What a start would give: the threaded build with the pool asked for, or the plain build's single thread.
    const shared = start.shared && wasmThreadsPossible();
    const changed =
      current.sharedMemory !== shared || current.threads !== (shared ? start.threads : 1);
    if (current.name === "wasm" && changed) await restartWasm(start);
    return current;
  }
  const candidates = choice === "auto" ? ORDER : [choice];
  const skipped: string[] = [];
  for (const name of candidates) {
    const failure =
      name === "tensorflow"
        ? await tryNative()
        : name === "wasm"
          ? await tryWasm(start)
          : (await tf.setBackend("cpu"))
            ? null
            : "the cpu backend did not start";
    if (failure) {
      if (choice !== "auto")
        throw new Error(
          `LESSON4_BACKEND=${choice} cannot be used: ${failure}. Use LESSON4_BACKEND=auto to fall back.`,
        );
      skipped.push(failure);
      continue;
    }
    if (name === "wasm") await prepareSimdKernels(); // assembles kernels/*.wat once, before their first use
    const addedKernels =
      name === "wasm" ? [...registerMissingWasmKernels(), ...registerFasterWasmKernels()] : [];
    const why =
      choice === "auto"
        ? skipped.length
          ? `fastest available; ${skipped.join("; ")}`
          : "fastest available"
        : "chosen by LESSON4_BACKEND";
    current = { name, reason: why, addedKernels };
    if (name === "tensorflow") current.package = nativeLoaded;
    if (name === "wasm") {
      current.simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
      noteWasmThreads(current);
    }
    return current;
  }
  throw new Error(`No tfjs backend could start: ${skipped.join("; ")}`);
}

let autoStart: Promise<BackendInfo | null> | null = null;

/**
 * What lib's long-running entry points (fitCollab, loadMobileNet, precomputeFeatures, ...) await
 * first, so that a plain script gets the fast backend without calling initBackend. The first call
 * runs initBackend with LESSON4_BACKEND (default auto: tensorflow, else wasm with the project's
 * kernels, else cpu) and prints one line on stderr saying which; later calls return at once. It
 * does nothing when a backend was chosen explicitly: by initBackend, or by tf.setBackend to a
 * backend other than cpu (tfjs falls back to cpu by itself when a tensor is made before any choice,
 * so cpu without initBackend is not taken as a choice: use initBackend("cpu") or
 * LESSON4_BACKEND=cpu to stay on it). Returns the backend chosen by initBackend, or null when left
 * as it was.
 */
export function ensureBackend(options: BackendOptions = {}): Promise<BackendInfo | null> {
  if (current) return Promise.resolve(current);
  const engineBackend = (tf.engine() as unknown as { backendName?: string | null }).backendName;
  if (!autoStart && engineBackend && engineBackend !== "cpu") return Promise.resolve(null);
  autoStart ??= initBackend(readConfig().backend, options).then(
    (info) => {
      const why = info.reason.split(";")[0];
      process.stderr.write(
        `lesson4: tfjs runs on ${info.name} (${why}, picked on first use; ` +
          `initBackend() or LESSON4_BACKEND chooses another)\n`,
      );
      return info;
    },
    (error: unknown) => {
      autoStart = null; // the next call tries again
      throw error;
    },
  );
  return autoStart;
}

/** The backend chosen by `initBackend` (or by `ensureBackend` on first use), or null before. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** A one-line description for notebooks and logs. */
export function describeBackend(info: BackendInfo): string {
  const threads =
    info.threads && info.threads > 1
      ? `${info.threads} threads`
      : info.threadsNote
        ? `1 thread: ${info.threadsNote}`
        : info.sharedMemory
          ? "threaded build, 1 XNNPACK thread"
          : "";
  const extras = [
    info.package ?? "",
    info.simd ? "SIMD" : "",
    threads,
    info.addedKernels.length ? `+${info.addedKernels.length} project kernels` : "",
  ].filter(Boolean);
  return `tfjs ${tf.version.tfjs} on ${info.name}${extras.length ? ` (${extras.join(", ")})` : ""}: ${info.reason}`;
}

export { tf };
