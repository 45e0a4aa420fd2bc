/**
 * Project configuration, read once from environment variables, so every notebook, script and
 * test agrees on sizes, folders and the compute backend.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** `fast`: small sizes and few epochs (tests, CI); `full`: the lesson's sizes. */
export type Mode = "fast" | "full";
/** Which tfjs backend to use; `auto` picks the fastest one that loads. */
export type BackendChoice = "auto" | "tensorflow" | "wasm" | "cpu";

export interface Config {
  /** LESSON4_MODE: `fast` or `full` (default `full`; `npm test` and CI set `fast`). */
  mode: Mode;
  /** LESSON4_DATA_DIR: where downloaded and generated data lives (default `<project>/data`). */
  dataDir: string;
  /** LESSON4_SOURCES_DIR: a folder laid out like the course's `shared/` with pre-downloaded copies (default: none). */
  sourcesDir: string | null;
  /** LESSON4_SEED: the seed for every random choice (default 42). */
  seed: number;
  /** LESSON4_BACKEND: `auto`, `tensorflow`, `wasm` or `cpu` (default `auto`). */
  backend: BackendChoice;
  /**
   * LESSON4_WASM_THREADS: threads for the wasm backend's XNNPACK kernels, 1 to 16 (1: the single-threaded build), for
   * every notebook and script; null when unset, so each picks its own (image lessons: allWasmThreads(); others: 1,
   * in the threaded build so the fused Adam can use a helper thread).
   */
  wasmThreads: number | null;
  /**
   * LESSON4_CELL_TIMEOUT: seconds one notebook cell may run under `npm run lessons` and the
   * notebook tests before the run fails naming it, 10 to 86400 (default 300 in fast mode, 1800 in full).
   */
  cellTimeout: number;
  /** The project's root folder (the one holding package.json). */
  projectRoot: string;
  /**
   * The engine's switches (ENGINE_SWITCHES) as they were when the configuration was read; the engine reads them
   * again when it uses them (engineSwitch), since tests and benchmarks flip them.
   */
  switches: Record<EngineSwitch, boolean>;
}

/** A configuration value that is not one of the allowed values. */
export class ConfigError extends Error {
  constructor(variable: string, value: string, allowed: string) {
    super(`${variable}=${JSON.stringify(value)} is not valid: ${variable} must be ${allowed}.`);
    this.name = "ConfigError";
  }
}

/** Finds the folder holding the project's package.json, walking up from `start`. */
export function findProjectRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "lesson4-ts")
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(name, raw, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
}

function existingFolder(env: NodeJS.ProcessEnv, name: string, root: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === "") return null;
  const resolved = path.resolve(root, raw);
  if (!fs.existsSync(resolved) || !fs.statSync(resolved).isDirectory()) {
    throw new ConfigError(
      name,
      raw,
      `an existing folder (resolved to ${resolved}, which does not exist)`,
    );
  }
  return resolved;
}

/** Reads and validates the configuration from `env` (default: `process.env`). */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const projectRoot = findProjectRoot();
  const seedText = env.LESSON4_SEED ?? "";
  const seed = seedText === "" ? 42 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError("LESSON4_SEED", seedText, "a whole number from 0 to 2^53-1");
  }
  const threadsText = env.LESSON4_WASM_THREADS ?? "";
  const wasmThreads = threadsText === "" ? null : Number(threadsText);
  if (
    wasmThreads !== null &&
    (!Number.isInteger(wasmThreads) || wasmThreads < 1 || wasmThreads > 16)
  ) {
    throw new ConfigError("LESSON4_WASM_THREADS", threadsText, "a whole number from 1 to 16");
  }
  const dataDirText = env.LESSON4_DATA_DIR;
  const mode = oneOf(env, "LESSON4_MODE", ["fast", "full"] as const, "full");
  const timeoutText = env.LESSON4_CELL_TIMEOUT ?? "";
  const cellTimeout =
    timeoutText === "" ? bySize({ mode }, { fast: 300, full: 1800 }) : Number(timeoutText);
  if (!Number.isInteger(cellTimeout) || cellTimeout < 10 || cellTimeout > 86400) {
    throw new ConfigError(
      "LESSON4_CELL_TIMEOUT",
      timeoutText,
      "a whole number of seconds from 10 to 86400",
    );
  }
  return {
    mode,
    dataDir: dataDirText ? path.resolve(projectRoot, dataDirText) : path.join(projectRoot, "data"),
    sourcesDir: existingFolder(env, "LESSON4_SOURCES_DIR", projectRoot),
    seed,
    backend: oneOf(env, "LESSON4_BACKEND", ["auto", "tensorflow", "wasm", "cpu"] as const, "auto"),
    wasmThreads,
    cellTimeout,
    projectRoot,
    switches: engineSwitches(env),
  };
}

/** Threads for image work on wasm: the CPU count, at most 4 (the cap tfjs-wasm puts on its own thread pool). */
export function allWasmThreads(): number {
  return Math.max(1, Math.min(os.cpus().length, 4));
}

/** Picks `fast` or `full` sizes: `bySize(config, { fast: 2, full: 20 })`. */
export function bySize<T>(config: Pick<Config, "mode">, sizes: { fast: T; full: T }): T {
  return sizes[config.mode];
}

/**
 * The engine's switches: each turns one fast path off ("0") or on ("1"), so it can be compared with the plain one
 * (same results within float32 rounding, unless said). Defaults in `on`. Not lesson settings: they exist to measure
 * and to test, and so live here, outside the lessons' functions.
 */
export const ENGINE_SWITCHES = {
  /** tf.train.adam's rule as one in-place SIMD pass per variable (lib/engine/fused-adam.ts' createAdam). */
  LESSON4_FUSED_ADAM: { on: true },
  /** The fused Adam's large steps finish while the next batch starts (lib/engine/deferred-step.ts). */
  LESSON4_DEFER_STEP: { on: true },
  /** A second thread for the SIMD module's long passes on the threaded backend (lib/engine/simd-helper.ts). */
  LESSON4_SIMD_HELPER: { on: true },
  /** The collaborative-filtering models' whole training step in one pass (lib/engine/lessons/embedding-step.ts). */
  LESSON4_FAST_STEP: { on: true },
  /** The collaborative-filtering models' L2 penalties as FastL2 (one-op gradient) instead of tf.regularizers.l2. */
  LESSON4_FUSED_L2: { on: true },
  /** BatchNormalization's training pass as one fused kernel (lib/engine/fused-batchnorm.ts). */
  LESSON4_FUSED_BN: { on: true },
  /** ReLU's gradient in the SIMD module (lib/engine/relu-grad.ts). */
  LESSON4_FAST_RELU_GRAD: { on: true },
  /** The image kernels of lib/engine/wasm-image-kernels.ts and the augmenter's one-kernel warp and channel shift. */
  LESSON4_FAST_IMAGE_KERNELS: { on: true },
  /** A frozen MobileNet's batch norms folded into its convolutions (lib/vision/pretrained.ts). */
  LESSON4_FOLD_BN: { on: true },
  /** The collaborative-filtering benchmark with lazy Embedding updates (faster, different results); off by default. */
  LESSON4_LAZY_ADAM: { on: false },
} as const satisfies Record<string, { on: boolean }>;

/** The name of one of ENGINE_SWITCHES. */
export type EngineSwitch = keyof typeof ENGINE_SWITCHES;

/**
 * An engine switch's value, read when asked (tests and benchmarks flip them at run time): unset or empty gives
 * `fallback` (default: the switch's own default), "0" off, "1" on; any other value fails, naming the variable.
 */
export function engineSwitch(
  name: EngineSwitch,
  fallback: boolean = ENGINE_SWITCHES[name]?.on,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (!(name in ENGINE_SWITCHES))
    throw new Error(`${name} is not an engine switch (ENGINE_SWITCHES in lib/config.ts)`);
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "0" || raw === "1") return raw === "1";
  throw new ConfigError(name, raw, '"0" (off) or "1" (on)');
}

/** Every engine switch's value from `env`, so a bad value fails when the configuration is read, not mid-training. */
export function engineSwitches(
  env: NodeJS.ProcessEnv = process.env,
): Record<EngineSwitch, boolean> {
  const names = Object.keys(ENGINE_SWITCHES) as EngineSwitch[];
  const values = names.map((name) => [name, engineSwitch(name, ENGINE_SWITCHES[name].on, env)]);
  return Object.fromEntries(values) as Record<EngineSwitch, boolean>;
}
