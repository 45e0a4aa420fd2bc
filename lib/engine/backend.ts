/**
 * The one place that chooses the tfjs engine: native TensorFlow where installed, else wasm
 * (with the kernels it lacks registered), else the pure-JS cpu backend, and says which.
 */
import * as tf from "@tensorflow/tfjs";
import { readConfig, type BackendChoice } from "../config";
import { registerFasterWasmKernels, registerMissingWasmKernels } from "./wasm-kernels";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** One line saying why this one, and why not the faster ones. */
  reason: string;
  /** Kernels this project registered on top of the backend's own. */
  addedKernels: string[];
  /** wasm only: whether SIMD instructions are used. */
  simd?: boolean;
}

const ORDER: BackendName[] = ["tensorflow", "wasm", "cpu"];
let current: BackendInfo | null = null;

/** Package name of the optional native backend (an npm alias of `@tensorflow/tfjs-node`). */
export const NATIVE_PACKAGE = "tfjs-node-native";

async function tryNative(): Promise<string | null> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(NATIVE_PACKAGE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "MODULE_NOT_FOUND"
      ? "@tensorflow/tfjs-node is not installed (it needs internet access at install time)"
      : `@tensorflow/tfjs-node failed to load: ${(error as Error).message.split("\n")[0]}`;
  }
  return (await tf.setBackend("tensorflow")) ? null : "@tensorflow/tfjs-node loaded but its backend did not start";
}

async function tryWasm(): Promise<string | null> {
  try {
    await import("@tensorflow/tfjs-backend-wasm");
  } catch (error) {
    return `@tensorflow/tfjs-backend-wasm failed to load: ${(error as Error).message.split("\n")[0]}`;
  }
  return (await tf.setBackend("wasm")) ? null : "the wasm backend did not start";
}

/**
 * Selects and starts a backend. `auto` tries tensorflow -> wasm -> cpu; naming one backend
 * uses it or fails with the reason. Safe to call again: returns the backend already chosen
 * unless a different one is asked for.
 */
export async function initBackend(choice: BackendChoice = readConfig().backend): Promise<BackendInfo> {
  if (current && (choice === "auto" || choice === current.name)) return current;
  const candidates = choice === "auto" ? ORDER : [choice];
  const skipped: string[] = [];
  for (const name of candidates) {
    const failure = name === "tensorflow" ? await tryNative() : name === "wasm" ? await tryWasm() : (await tf.setBackend("cpu")) ? null : "the cpu backend did not start";
    if (failure) {
      if (choice !== "auto") throw new Error(`LESSON4_BACKEND=${choice} cannot be used: ${failure}. Use LESSON4_BACKEND=auto to fall back.`);
      skipped.push(failure);
      continue;
    }
    const addedKernels = name === "wasm" ? [...registerMissingWasmKernels(), ...registerFasterWasmKernels()] : [];
    const why = choice === "auto" ? (skipped.length ? `fastest available; ${skipped.join("; ")}` : "fastest available") : "chosen by LESSON4_BACKEND";
    current = { name, reason: why, addedKernels };
    if (name === "wasm") current.simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
    return current;
  }
  throw new Error(`No tfjs backend could start: ${skipped.join("; ")}`);
}

/** The backend chosen by `initBackend`, or null before it ran. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** A one-line description for notebooks and logs. */
export function describeBackend(info: BackendInfo): string {
  const extras = [info.simd ? "SIMD" : "", info.addedKernels.length ? `+${info.addedKernels.length} project kernels` : ""].filter(Boolean);
  return `tfjs ${tf.version.tfjs} on ${info.name}${extras.length ? ` (${extras.join(", ")})` : ""}: ${info.reason}`;
}

export { tf };
