/**
 * A second thread for the SIMD Adam pass. A large weight's step is bound by memory traffic, which one core cannot
 * saturate, so on the threaded backend's shared memory a worker runs the same SIMD module over the second half of the
 * weight while the calling thread does the first. Same values as one thread: the split falls on sum-of-squares chunk
 * boundaries and the per-chunk sums are added in the same order.
 */
import * as os from "os";
import { Worker } from "worker_threads";
import { simdModuleBytes } from "./wasm-simd";

/** b1, b2, 1-b1, 1-b2, the bias corrections' reciprocals, epsilon and -lr, as the SIMD module's adam takes them. */
export type AdamConstants = readonly [b1: number, b2: number, c1: number, c2: number, r1: number, r2: number, eps: number, negLr: number];

const MAX_CHUNKS = 1 << 14;
const SHARE_STEP = 0.01;
const SHARE_RANGE = [0.1, 1];
/** Below this many elements a split costs more (waking the worker) than it saves. */
export const SPLIT_MIN = 1 << 17;
/** How long the caller waits for the worker before giving up with an error, in ms. */
const WAIT_MS = 30_000;

// Runs in the worker: waits for a request (control[0] changes), does it, reports it done (control[1]).
const WORKER_SOURCE = `
const { workerData } = require("worker_threads");
const { memory, control, params, sums, bytes } = workerData;
const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const c = new Int32Array(control), p = new Float64Array(params), s = new Float64Array(sums);
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  const op = c[2];
  if (op < 0) break;
  const x = c[3], g = c[4], m = c[5], v = c[6], n = c[7], chunk = c[8];
  if (op === 1) k.adam(x, g, m, v, n, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
  else for (let i = 0, j = 0; i < n; i += chunk, j++) s[j] = k.adamL2(x + 4 * i, g + 4 * i, m + 4 * i, v + 4 * i, Math.min(chunk, n - i), p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]);
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}
`;

/** The worker and the shared words it is driven through. */
export class SimdHelper {
  private seq = 0;
  private readonly control = new Int32Array(new SharedArrayBuffer(16 * 4));
  private readonly params = new Float64Array(new SharedArrayBuffer(16 * 8));
  private readonly sums = new Float64Array(new SharedArrayBuffer(MAX_CHUNKS * 8));
  private readonly worker: Worker;
  private failure: Error | null = null;
  /**
   * The fraction of a split the worker takes. It starts late (waking it takes ~0.1 ms here), and the caller may go on
   * to other work before it waits (deferred-step.ts), so each finish() moves the share a step towards whichever thread
   * was idle. The values do not depend on it.
   */
  share = 0.5;

  constructor(memory: WebAssembly.Memory) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { memory, control: this.control.buffer, params: this.params.buffer, sums: this.sums.buffer, bytes: simdModuleBytes(true) },
    });
    this.worker.on("error", (error) => (this.failure = error));
    this.worker.unref();
  }

  /** Whether a range of `n` elements in `chunk`-sized pieces fits the shared sums. */
  fits(n: number, chunk: number): boolean {
    return Math.ceil(n / chunk) <= MAX_CHUNKS;
  }

  /**
   * Starts the worker on an Adam step over `n` elements (a multiple of 4) at byte addresses x, g, m, v; with `l2`,
   * the folded-L2 variant, its per-`chunk` sums of squares collected by finish().
   */
  start(x: number, g: number, m: number, v: number, n: number, chunk: number, constants: AdamConstants, l2?: number): void {
    if (this.failure) throw new Error(`the SIMD helper thread failed: ${this.failure.message}`);
    this.params.set(constants);
    this.params[8] = l2 ?? 0;
    const c = this.control;
    c[2] = l2 ? 2 : 1;
    c.set([x, g, m, v, n, chunk], 3);
    Atomics.store(c, 0, ++this.seq);
    Atomics.notify(c, 0);
  }

  /** Blocks until the worker is done; returns the per-chunk sums of squares (with l2), in order. */
  finish(chunks: number): Float64Array {
    const c = this.control;
    this.share = Math.min(SHARE_RANGE[1], Math.max(SHARE_RANGE[0], this.share + (Atomics.load(c, 1) === this.seq ? SHARE_STEP : -SHARE_STEP)));
    const deadline = Date.now() + WAIT_MS;
    for (let done = Atomics.load(c, 1); done !== this.seq; done = Atomics.load(c, 1)) {
      if (Date.now() > deadline) throw new Error(`the SIMD helper thread did not answer in ${WAIT_MS / 1000} s${this.failure ? `: ${this.failure.message}` : ""}`);
      Atomics.wait(c, 1, done, 100);
    }
    return this.sums.subarray(0, chunks);
  }

  dispose(): void {
    this.control[2] = -1;
    Atomics.store(this.control, 0, ++this.seq);
    Atomics.notify(this.control, 0);
  }
}

const helpers = new WeakMap<WebAssembly.Memory, SimdHelper | null>();

/**
 * The helper for a wasm memory: only for shared memory (the threaded backend) on a machine with more than one CPU,
 * and unless LESSON4_SIMD_HELPER=0 (to compare); null otherwise.
 */
export function simdHelperFor(memory: WebAssembly.Memory): SimdHelper | null {
  if (helpers.has(memory)) return helpers.get(memory)!;
  const usable = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer && os.cpus().length > 1 && process.env.LESSON4_SIMD_HELPER !== "0";
  const helper = usable ? new SimdHelper(memory) : null;
  helpers.set(memory, helper);
  return helper;
}
