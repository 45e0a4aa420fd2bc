/**
 * A second thread for the SIMD module's long passes. A large weight's Adam step is bound by memory traffic, which one
 * core cannot saturate, so on the threaded backend's shared memory a worker runs the same SIMD module over the second
 * half of the weight while the calling thread does the first. Same values as one thread: the split falls on
 * sum-of-squares chunk boundaries and the per-chunk sums are added in the same order. Likewise the augmenter's warp:
 * the worker warps the last images of a batch while the caller does the first (each image's values do not depend on
 * which thread made them). And a large matrix product: the worker computes the last rows of the output while the
 * caller does the first (each output sums its products in the same order on either thread).
 */
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { type MatMulArgs, simdModuleBytes } from "./wasm-simd";
import { finishPendingStep } from "./deferred-step";
import { engineSwitch } from "../config";

/** b1, b2, 1-b1, 1-b2, the bias corrections' reciprocals, epsilon and -lr, as the SIMD module's adam takes them. */
export type AdamConstants = readonly [
  b1: number,
  b2: number,
  c1: number,
  c2: number,
  r1: number,
  r2: number,
  eps: number,
  negLr: number,
];

const MAX_CHUNKS = 1 << 14;
const SHARE_STEP = 0.01;
const SHARE_RANGE = [0.1, 1];
/** Below this many elements a split costs more (waking the worker) than it saves. */
export const SPLIT_MIN = 1 << 17;
/** The most images one warp request hands the worker (6 matrix entries each in the shared words). */
export const MAX_WARP_IMAGES = 1024;
/** How far one warp moves the worker's share of the next (a batch of 32 images is ~3% an image). */
const WARP_SHARE_STEP = 0.03;
/** How long the caller waits for the worker before giving up with an error, in ms. */
const WAIT_MS = 30_000;

/** The worker's script: plain JavaScript beside this file, which instantiates the same kernel module. */
const WORKER_SCRIPT = path.join(__dirname, "simd-helper-worker.cjs");
/** Operation numbers in control[2], as the worker reads them. */
const Op = { stop: -1, adam: 1, adamL2: 2, warp: 3, matMul: 4 } as const;

/** One warp request's integer arguments (byte addresses and sizes), as the SIMD module's warp takes them. */
export interface WarpJob {
  src: number;
  dst: number;
  inH: number;
  inW: number;
  ch: number;
  outH: number;
  outW: number;
  clamp: number;
  count: number;
  srcStride: number;
  dstStride: number;
  fill: number;
}

/** The worker and the shared words it is driven through. */
export class SimdHelper {
  private seq = 0;
  private readonly control = new Int32Array(new SharedArrayBuffer(16 * 4));
  private readonly params = new Float64Array(new SharedArrayBuffer(16 * 8));
  private readonly sums = new Float64Array(new SharedArrayBuffer(MAX_CHUNKS * 8));
  private readonly matrices = new Float64Array(new SharedArrayBuffer(MAX_WARP_IMAGES * 7 * 8));
  private readonly worker: Worker;
  private failure: Error | null = null;
  /**
   * The fraction of a split the worker takes. It starts late (waking it takes ~0.1 ms here), and the caller may go on
   * to other work before it waits (deferred-step.ts), so each finish() moves the share a step towards whichever thread
   * was idle. The values do not depend on it.
   */
  share = 0.5;
  /** The worker's share of a warp's images, moved after each warp as `share` is (it also competes with decoding threads). */
  warpShare = 0.5;

  constructor(memory: WebAssembly.Memory) {
    const buffers = {
      control: this.control.buffer,
      params: this.params.buffer,
      sums: this.sums.buffer,
      matrices: this.matrices.buffer,
    };
    this.worker = new Worker(WORKER_SCRIPT, {
      workerData: { memory, bytes: simdModuleBytes(true), ...buffers },
    });
    this.worker.on("error", (error) => (this.failure = error));
    this.worker.unref();
  }

  /**
   * Readies the worker for a new request: the worker holds one request at a time, so a deferred Adam step still
   * running on it (deferred-step.ts) is finished and filed first; a worker that failed is reported.
   */
  private claim(): void {
    if (this.failure) throw new Error(`the SIMD helper thread failed: ${this.failure.message}`);
    finishPendingStep();
  }

  /** Whether a range of `n` elements in `chunk`-sized pieces fits the shared sums. */
  fits(n: number, chunk: number): boolean {
    return Math.ceil(n / chunk) <= MAX_CHUNKS;
  }

  /**
   * Starts the worker on an Adam step over `n` elements (a multiple of 4) at byte addresses x, g, m, v; with `l2`,
   * the folded-L2 variant, its per-`chunk` sums of squares collected by finish().
   */
  start(
    x: number,
    g: number,
    m: number,
    v: number,
    n: number,
    chunk: number,
    constants: AdamConstants,
    l2?: number,
  ): void {
    this.claim();
    this.params.set(constants);
    this.params[8] = l2 ?? 0;
    const c = this.control;
    c[2] = l2 ? Op.adamL2 : Op.adam;
    c.set([x, g, m, v, n, chunk], 3);
    Atomics.store(c, 0, ++this.seq);
    Atomics.notify(c, 0);
  }

  /**
   * Starts the worker warping `count` images (warp's arguments in `job`; image i at src + i * srcStride and dst +
   * i * dstStride bytes) with `matrices` (a0, a1, a2, b0, b1, b2 for each image, at most MAX_WARP_IMAGES), each
   * followed by its channel shift (the module's shiftClip) when `shifts` are given; finishWarp waits.
   */
  startWarp(job: WarpJob, matrices: ArrayLike<number>, shifts?: ArrayLike<number>): void {
    this.claim();
    if (
      job.count > MAX_WARP_IMAGES ||
      matrices.length < 6 * job.count ||
      (shifts && shifts.length < job.count)
    ) {
      throw new RangeError(
        `startWarp: ${job.count} images (at most ${MAX_WARP_IMAGES}) with ${matrices.length} matrix entries and ${shifts?.length ?? "no"} shifts`,
      );
    }
    for (let i = 0; i < job.count; i++) {
      for (let j = 0; j < 6; j++) this.matrices[7 * i + j] = matrices[6 * i + j];
      this.matrices[7 * i + 6] = shifts ? shifts[i] : 0;
    }
    this.params[0] = job.fill;
    const c = this.control;
    c[2] = Op.warp;
    c.set(
      [
        job.src,
        job.dst,
        job.inH,
        job.inW,
        job.ch,
        job.outH,
        job.outW,
        job.clamp,
        job.count,
        job.srcStride,
        job.dstStride,
        shifts ? 1 : 0,
      ],
      3,
    );
    Atomics.store(c, 0, ++this.seq);
    Atomics.notify(c, 0);
  }

  /** Starts the worker on a matrix product (the SIMD module's matMul); finishMatMul waits for it. */
  startMatMul(args: MatMulArgs): void {
    this.claim();
    const c = this.control;
    c[2] = Op.matMul;
    c.set(args, 3);
    Atomics.store(c, 0, ++this.seq);
    Atomics.notify(c, 0);
  }

  /** Blocks until the worker's matrix product is done. */
  finishMatMul(): void {
    this.wait();
  }

  /** Blocks until the worker's warp is done, and moves warpShare towards whichever thread was idle. */
  finishWarp(): void {
    const idle = Atomics.load(this.control, 1) === this.seq;
    this.warpShare = Math.min(
      SHARE_RANGE[1],
      Math.max(SHARE_RANGE[0], this.warpShare + (idle ? WARP_SHARE_STEP : -WARP_SHARE_STEP)),
    );
    this.wait();
  }

  /** Blocks until the worker is done; returns the per-chunk sums of squares (with l2), in order. */
  finish(chunks: number): Float64Array {
    const c = this.control;
    this.share = Math.min(
      SHARE_RANGE[1],
      Math.max(
        SHARE_RANGE[0],
        this.share + (Atomics.load(c, 1) === this.seq ? SHARE_STEP : -SHARE_STEP),
      ),
    );
    this.wait();
    return this.sums.subarray(0, chunks);
  }

  private wait(): void {
    const c = this.control;
    const deadline = Date.now() + WAIT_MS;
    for (let done = Atomics.load(c, 1); done !== this.seq; done = Atomics.load(c, 1)) {
      if (Date.now() > deadline)
        throw new Error(
          `the SIMD helper thread did not answer in ${WAIT_MS / 1000} s${this.failure ? `: ${this.failure.message}` : ""}`,
        );
      Atomics.wait(c, 1, done, 100);
    }
  }

  dispose(): void {
    this.control[2] = Op.stop;
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
  const usable =
    typeof SharedArrayBuffer !== "undefined" &&
    memory.buffer instanceof SharedArrayBuffer &&
    os.cpus().length > 1 &&
    engineSwitch("LESSON4_SIMD_HELPER");
  const helper = usable ? new SimdHelper(memory) : null;
  helpers.set(memory, helper);
  return helper;
}
