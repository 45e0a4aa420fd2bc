/// <reference lib="dom" />
// (the line above: WebAssembly.Memory/Module/Instance types; tslab compiles notebooks without the DOM lib)
/**
 * The project's SIMD kernels (written in WebAssembly text: kernels/*.wat), bound to the tfjs wasm backend's own
 * memory, so they work on tensors where the backend keeps them, without copies: Adam in place over a weight and its
 * moments, a sum of squares (the L2 penalty), small matrix products, and for image models min/max against a scalar
 * (ReLU6, clipping), a per-channel batch norm, pooling and convolution gradients' pieces and the augmenter's warp.
 * Each is one pass over memory, 4 floats per instruction, with the same float operations in the same order as the
 * tfjs kernel or JS code it replaces. This file only loads and types them; null where SIMD WebAssembly is unavailable.
 */
import { kernelModuleBytes, prepareKernelModule } from "./kernels/assemble";

/**
 * Adam's flush to zero (kernels/adam.wat says why): a new weight below TINY_WEIGHT and a moment below TINY_MOMENT
 * are stored as +0, and a gradient below TINY_SQUARED_GRADIENT is not squared. The same numbers are written in
 * adam.wat; fused-adam.ts's JS step uses these.
 */
export const TINY_WEIGHT = 2 ** -60;
export const TINY_MOMENT = 2 ** -96;
export const TINY_SQUARED_GRADIENT = 2 ** -50;

/** The SIMD module's matMul arguments: byte addresses a, b, c, then m, k, cols, n, saI, saK. */
export type MatMulArgs = readonly [
  a: number,
  b: number,
  c: number,
  m: number,
  k: number,
  cols: number,
  n: number,
  saI: number,
  saK: number,
];

/** Byte addresses into the wasm heap (Float32 data, 4-byte aligned) and float32 constants of one Adam step. */
export interface SimdKernels {
  /**
   * For i in [0, n): m = m*b1 + g*(1-b1); v = v*b2 + (g*g)*(1-b2); x = ((m*r1) / (sqrt(v*r2) + eps)) * -lr + x,
   * in place, where r1 and r2 are the reciprocals of Adam's bias corrections, with the flushes to zero of
   * TINY_WEIGHT and its kin; `n` must be a multiple of 4 (the caller does the tail).
   */
  adam(
    x: number,
    g: number,
    m: number,
    v: number,
    n: number,
    b1: number,
    b2: number,
    c1: number,
    c2: number,
    r1: number,
    r2: number,
    eps: number,
    negLr: number,
  ): void;
  /**
   * adam with the gradient g + x*l2 (an L2 penalty's gradient, 2 * rate, added as the tape would add it); returns
   * the new weights' sum of squares as sumSquares would compute it (for the next batch's penalty).
   */
  adamL2(
    x: number,
    g: number,
    m: number,
    v: number,
    n: number,
    b1: number,
    b2: number,
    c1: number,
    c2: number,
    r1: number,
    r2: number,
    eps: number,
    negLr: number,
    l2: number,
  ): number;
  /**
   * c[i, j] = sum over k (in order) of a[i*saI + k*saK] * b[k, j] for i < m, j < cols (at most n), with b and c
   * row-major [k, n] and [m, n]: a matrix product (a may be read transposed), 16 output columns per pass where it can,
   * then 4. Where cols is not a multiple of 4 the last columns are computed 4 wide, reading up to 3 floats past the
   * end of b's last row (the caller checks they are inside the memory); only the lanes inside c's rows are stored.
   */
  matMul(...args: MatMulArgs): void;
  /** sum of x[i]² for i in [0, n), accumulated in 4 float32 lanes; `n` a multiple of 4. */
  sumSquares(x: number, n: number): number;
  /** dst[i] = min(x[i], v) for i in [0, n) (f32x4.min: NaN in, NaN out); `n` a multiple of 4. */
  minScalar(x: number, dst: number, n: number, v: number): void;
  /** dst[i] = max(x[i], v), as minScalar. */
  maxScalar(x: number, dst: number, n: number, v: number): void;
  /** dst[i] = x[i] + v, as minScalar. */
  addScalar(x: number, dst: number, n: number, v: number): void;
  /**
   * The smallest of x[0..n) by WebAssembly's min, 4 lanes at a time (any NaN gives NaN, as the backend's Min kernel
   * gives it; -0 counts as below +0, where the backend's result may be either zero); `n` a multiple of 4, at least 4.
   */
  blockMin(x: number, n: number): number;
  /** The largest, as blockMin (+0 above -0). */
  blockMax(x: number, n: number): number;
  /** [blockMin(x, n), blockMax(x, n)] from one pass. */
  blockRange(x: number, n: number): [number, number];
  /** dst[i] = min(max(x[i] + shift, lo), hi): addScalar, maxScalar and minScalar in one pass, the same values. */
  addClamp(x: number, dst: number, n: number, shift: number, lo: number, hi: number): void;
  /**
   * Batch norm over rows of `c` channels (`c` a multiple of 4, `n` values in all): dst[i] = (x[i] - mean[j]) * mul[j]
   * + offset[j] for channel j, where `p` holds mean, mul and offset one after the other (3c floats).
   */
  batchNorm(x: number, dst: number, n: number, c: number, p: number): void;
  /**
   * Sets `bytes` bytes from `dst` to zero (WebAssembly's memory.fill: a memset, where TypedArray.fill on the threaded
   * backend's shared memory goes element by element, about 5x slower).
   */
  zero(dst: number, bytes: number): void;
  /**
   * Column sums in float64: acc[j] += x[r, j] for r < rows, j < cols (an even count), with `acc` float64 at byte
   * address `acc` and x float32 with its rows rowBytes apart (a row may hold more than `cols` values); two columns
   * per instruction, rows added in order.
   */
  columnSum(x: number, acc: number, rows: number, cols: number, rowBytes: number): void;
  /**
   * Float64 column sums of x and of x*y (x, y float32 [rows, cols], cols even) added into acc (float64 [2 * cols]):
   * acc[j] += x[r, j], acc[cols + j] += x[r, j] * y[r, j], rows in order.
   */
  columnPairSums(x: number, y: number, acc: number, rows: number, cols: number): void;
  /** dst = a * p[j] + b * p[c + j] + p[2c + j] per channel j of the last axis (`c` a multiple of 4; `p` 3c floats). */
  twoTermAffine(a: number, b: number, dst: number, n: number, c: number, p: number): void;
  /**
   * One pooling window (rows x cols pixels from byte address src, rows rowBytes and pixels pixBytes apart) of cBytes / 4
   * channels (a multiple of 4): each channel's first strict maximum's byte address to idx (uint32s; 0xffffffff if none).
   */
  poolArgmax(
    src: number,
    rowBytes: number,
    pixBytes: number,
    rows: number,
    cols: number,
    cBytes: number,
    idx: number,
  ): void;
  /**
   * One window of MaxPoolGrad: poolArgmax into idx, then g[k] (float32, at byte address g) added at
   * idx[k] + delta for each channel k whose maximum was taken.
   */
  poolGradWindow(
    src: number,
    rowBytes: number,
    pixBytes: number,
    rows: number,
    cols: number,
    cBytes: number,
    idx: number,
    g: number,
    delta: number,
  ): void;
  /**
   * MaxPoolGrad over a whole NHWC batch: each output pixel's window (stride sh x sw, size fh x fw, from -padTop,
   * -padLeft, clipped to the h x w image) through poolGradWindow, with its incoming gradient from g ([n, oh, ow, c]);
   * dx (zeroed by the caller) lies delta bytes from x; c a multiple of 4; idx scratch for c uint32s.
   */
  maxPoolGrad(
    x: number,
    g: number,
    delta: number,
    idx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    padTop: number,
    padLeft: number,
  ): void;
  /**
   * Adds a convolution's input gradient in column form into dx (zeroed by the caller): for each output pixel
   * (b, y, x) < (n, oh, ow), kh rows of `run` (kw * c) floats from g, row i added at dx's (b, y + i, x), where dx is
   * [n, oh + kh - 1, ow + kw - 1, c].
   */
  col2imAdd(
    g: number,
    dx: number,
    n: number,
    oh: number,
    ow: number,
    kh: number,
    run: number,
    c: number,
  ): void;
  /**
   * A dropout mask at dst: `kept` where unit i's hash of (key, i) is at least `threshold` (unsigned), else 0, for i in
   * [0, n), `n` a multiple of 4 (lib/engine/dropout.ts has the hash).
   */
  dropoutMask(dst: number, n: number, key: number, threshold: number, kept: number): void;
  /** dst = dy * step(x) (step: 1 for x > 0, NaN for NaN, else 0) for i in [0, n), `n` a multiple of 4. */
  reluGrad(dy: number, x: number, dst: number, n: number): void;
  /** One patch row: for b < n, y < oh, the ow values cBytes apart from src + b * imageBytes + y * rowBytes, packed from dst. */
  patchRow(
    src: number,
    dst: number,
    n: number,
    oh: number,
    ow: number,
    imageBytes: number,
    rowBytes: number,
    cBytes: number,
  ): void;
  /** One image's affine bilinear warp (tf.image.transform), as kernels/warp.wat describes; clamp 1 for fill mode "nearest". */
  warp(
    src: number,
    dst: number,
    inH: number,
    inW: number,
    ch: number,
    outH: number,
    outW: number,
    clamp: number,
    a0: number,
    a1: number,
    a2: number,
    b0: number,
    b1: number,
    b2: number,
    fill: number,
  ): void;
  /**
   * Lesson-shaped (kernels/channel-shift.wat): one image's `n` values from byte address `at`, shifted by `shift` (a
   * float32) and clipped to the image's own range before the shift, in place.
   */
  shiftClip(at: number, n: number, shift: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/** Whether a memory is shared (the threaded backend's), which decides the module it links with. */
export function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * The module's bytes for a memory of this kind (kernels/assemble.ts): what the helper thread instantiates too, so
 * both threads run the same code.
 */
export function simdModuleBytes(shared: boolean): Uint8Array {
  return kernelModuleBytes(shared);
}

/** Assembles both modules ahead of first use (initBackend awaits it), in this process. */
export async function prepareSimdKernels(): Promise<void> {
  await prepareKernelModule(false);
  if (typeof SharedArrayBuffer !== "undefined") await prepareKernelModule(true);
}

/**
 * The kernels bound to a wasm memory (the tfjs backend's), or null where this WebAssembly has no SIMD. A kernel
 * source that does not assemble throws (naming the file's line), rather than quietly taking the slow paths.
 */
export function simdKernels(memory: WebAssembly.Memory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!;
  const bytes = simdModuleBytes(isShared(memory));
  const kernels = WebAssembly.validate(bytes)
    ? (new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
        .exports as unknown as SimdKernels)
    : null;
  instances.set(memory, kernels);
  return kernels;
}

/** The tfjs wasm backend's memory: exported by its single-threaded build, imported (and shared) by the threaded one. */
export function wasmMemoryOf(backend: unknown): WebAssembly.Memory | null {
  const wasm = (
    backend as { wasm?: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory } }
  ).wasm;
  return wasm?.asm?.memory ?? wasm?.wasmMemory ?? null;
}

/** Zeroes a view into the wasm heap: memory.fill where the module runs, TypedArray.fill otherwise. */
export function zeroHeap(kernels: SimdKernels | null, view: Float32Array | Int32Array): void {
  if (kernels) kernels.zero(view.byteOffset, view.byteLength);
  else view.fill(0);
}

/** The kernels bound to a tfjs wasm backend's memory, or null (no SIMD, or not a wasm backend). */
export function backendSimd(backend: unknown): SimdKernels | null {
  const memory = wasmMemoryOf(backend);
  return memory ? simdKernels(memory) : null;
}
