/// <reference lib="dom" />
// (the line above: WebAssembly.Memory/Module/Instance types; tslab compiles notebooks without the DOM lib)
/**
 * Inner loops as a tiny hand-assembled WebAssembly SIMD module that works on the tfjs wasm backend's own memory
 * (no copies): Adam in place over a weight and its moments, a sum of squares (the L2 penalty), small matrix
 * products, and for image models min/max against a scalar (ReLU6, clipping) and a per-channel batch norm.
 * Each is one pass over memory, 4 floats per instruction (the sum of squares with the same float32 operations in the
 * same order as tf.sum(tf.square(x)), Adam as fused-adam.ts's adamStep). Falls back to nothing (null) where SIMD
 * WebAssembly is unavailable.
 */
import { BLOCK, BR, BR_IF, END, F32, F32_ADD, F32_LOAD, F32_STORE, F32_MAX, F32_MIN, I32, I32_ADD, I32_AND, I32_CONST, I32_GE_U, I32_LT_U, I32_MUL, I32_SHL, LOCAL_TEE, LOOP, V128, VOID, get, section, set, simd, str, uleb, vec, whileBelow } from "./wasm-asm";
import { WARP_TYPE, warpBody } from "./wasm-warp";

/**
 * Adam's flush to zero. A weight that L2 shrinks towards zero in Adam keeps getting smaller (its step is lr * m / (sqrt(v) + eps)
 * with v remembering older, larger gradients), as do the moments of rows no batch touches, until they are float32
 * subnormals; on x86 every multiplication with a subnormal operand or result then takes ~100 times longer, and
 * WebAssembly cannot switch on the CPU's flush-to-zero. (Measured: 38,650 of the bias model's 486,200 movie-factor
 * weights were subnormal after 3 epochs at lr 1e-2, and each epoch took 1.7 s more than the first.) So Adam stores 0
 * for a new weight below TINY_WEIGHT (8.7e-19, far below any weight's effect on an output) and a moment below
 * TINY_MOMENT (1.3e-29: the step it would take, lr * m / eps, is < 1e-22 at lr 1e-2), and squares a gradient only if
 * it is at least TINY_SQUARED_GRADIENT (8.9e-16, whose square is too small to move sqrt(v) + eps), so no operand or
 * result of the next step is subnormal. NaN and infinity pass unchanged.
 */
export const TINY_WEIGHT = 2 ** -60;
export const TINY_MOMENT = 2 ** -96;
export const TINY_SQUARED_GRADIENT = 2 ** -50;

/** Byte addresses into the wasm heap (Float32 data, 4-byte aligned) and float32 constants of one Adam step. */
export interface SimdKernels {
  /**
   * For i in [0, n): m = m*b1 + g*(1-b1); v = v*b2 + (g*g)*(1-b2); x = ((m*r1) / (sqrt(v*r2) + eps)) * -lr + x,
   * in place, where r1 and r2 are the reciprocals of Adam's bias corrections, with the flushes to zero of
   * TINY_WEIGHT and its kin; `n` must be a multiple of 4 (the caller does the tail).
   */
  adam(x: number, g: number, m: number, v: number, n: number, b1: number, b2: number, c1: number, c2: number, r1: number, r2: number, eps: number, negLr: number): void;
  /**
   * adam with the gradient g + x*l2 (an L2 penalty's gradient, 2 * rate, added as the tape would add it); returns
   * the new weights' sum of squares as sumSquares would compute it (for the next batch's penalty).
   */
  adamL2(x: number, g: number, m: number, v: number, n: number, b1: number, b2: number, c1: number, c2: number, r1: number, r2: number, eps: number, negLr: number, l2: number): number;
  /**
   * c[i, j] = sum over k (in order) of a[i*saI + k*saK] * b[k, j] for i < m, j < cols (at most n), with b and c
   * row-major [k, n] and [m, n]: a matrix product (a may be read transposed), 16 output columns per pass where it can,
   * then 4. Where cols is not a multiple of 4 the last columns are computed 4 wide, reading up to 3 floats past the
   * end of b's last row (the caller checks they are inside the memory); only the lanes inside c's rows are stored.
   */
  matMul(a: number, b: number, c: number, m: number, k: number, cols: number, n: number, saI: number, saK: number): void;
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
  poolArgmax(src: number, rowBytes: number, pixBytes: number, rows: number, cols: number, cBytes: number, idx: number): void;
  /** dst = dy * step(x) (step: 1 for x > 0, NaN for NaN, else 0) for i in [0, n), `n` a multiple of 4. */
  reluGrad(dy: number, x: number, dst: number, n: number): void;
  /** One patch row: for b < n, y < oh, the ow values cBytes apart from src + b * imageBytes + y * rowBytes, packed from dst. */
  patchRow(src: number, dst: number, n: number, oh: number, ow: number, imageBytes: number, rowBytes: number, cBytes: number): void;
  /** One image's affine bilinear warp (tf.image.transform), as wasm-warp.ts describes; clamp 1 for fill mode "nearest". */
  warp(src: number, dst: number, inH: number, inW: number, ch: number, outH: number, outW: number, clamp: number, a0: number, a1: number, a2: number, b0: number, b1: number, b2: number, fill: number): void;
}

// Opcodes and encoders (wasm-asm.ts), and the SIMD opcodes only this module uses.
const V128_LOAD = [...simd(0x00), 2, 0];
const V128_STORE = [...simd(0x0b), 2, 0];
const F32X4_SPLAT = simd(0x13);
const F32X4_EXTRACT = (lane: number) => [...simd(0x1f), lane];
const F32X4_SQRT = simd(0xe3), F32X4_ADD = simd(0xe4), F32X4_SUB = simd(0xe5), F32X4_MUL = simd(0xe6), F32X4_DIV = simd(0xe7);
const F32X4_MIN = simd(0xe8), F32X4_MAX = simd(0xe9);
const F32X4_ABS = simd(0xe0), F32X4_LT = simd(0x43), V128_ANDNOT = simd(0x4f);
/** A v128.const of four copies of the float32 `value`. */
function f32x4Const(value: number): number[] {
  const bytes = new Uint8Array(new Float32Array([value, value, value, value]).buffer);
  return [...simd(0x0c), ...bytes];
}
/**
 * Replaces the f32x4 on the stack by itself with every lane whose magnitude is below `tiny` set to +0 (NaN kept), using
 * local `temp`: |v| < tiny gives an all-ones lane mask, and v & ~mask clears those lanes.
 */
const flushBelow = (tiny: number, temp: number) => [LOCAL_TEE, temp, ...get(temp), ...F32X4_ABS, ...f32x4Const(tiny), ...F32X4_LT, ...V128_ANDNOT];

/** address = base + i (bytes), for local indices base and i. */
const at = (base: number, i: number) => [...get(base), ...get(i), I32_ADD];

function adamBody(withL2: boolean): number[] {
  // params: 0 x, 1 g, 2 m, 3 v, 4 n, 5 b1, 6 b2, 7 c1, 8 c2, 9 r1, 10 r2, 11 eps, 12 negLr, [13 l2];
  // locals (after the params): i, end, 8 or 9 splats, g, m', v', x', [sum of x'²]
  const P = withL2 ? 14 : 13;
  const I = P, END_ = P + 1, S = P + 2, NS = withL2 ? 9 : 8, G = S + NS, M = G + 1, V = G + 2, X = G + 3, ACC = G + 4;
  const splat = (p: number) => [...get(p), ...F32X4_SPLAT, ...set(S + p - 5)];
  const code = [
    ...get(4), I32_CONST, 2, I32_SHL, ...set(END_),
    ...(withL2 ? [5, 6, 7, 8, 9, 10, 11, 12, 13] : [5, 6, 7, 8, 9, 10, 11, 12]).flatMap(splat),
    BLOCK, VOID, LOOP, VOID,
    ...get(I), ...get(END_), I32_GE_U, BR_IF, 1,
    ...at(1, I), ...V128_LOAD,
    // g + x*l2
    ...(withL2 ? [...at(0, I), ...V128_LOAD, ...get(S + 8), ...F32X4_MUL, ...F32X4_ADD] : []),
    ...set(G),
    // m' = m*b1 + g*c1, flushed below TINY_MOMENT
    ...at(2, I), ...at(2, I), ...V128_LOAD, ...get(S + 0), ...F32X4_MUL, ...get(G), ...get(S + 2), ...F32X4_MUL, ...F32X4_ADD, ...flushBelow(TINY_MOMENT, M), LOCAL_TEE, M, ...V128_STORE,
    // v' = v*b2 + (g*g)*c2 with g flushed below TINY_SQUARED_GRADIENT for the square (V is the temporary), then v' flushed
    ...at(3, I), ...at(3, I), ...V128_LOAD, ...get(S + 1), ...F32X4_MUL, ...get(G), ...flushBelow(TINY_SQUARED_GRADIENT, V), LOCAL_TEE, V, ...get(V), ...F32X4_MUL, ...get(S + 3), ...F32X4_MUL, ...F32X4_ADD, ...flushBelow(TINY_MOMENT, V), LOCAL_TEE, V, ...V128_STORE,
    // x' = ((m'*r1) / (sqrt(v'*r2) + eps)) * negLr + x: multiplying by the corrections' reciprocals leaves one
    // division per value instead of three (about 12% off a 527k-value step; the rest is memory traffic)
    ...at(0, I),
    ...get(M), ...get(S + 4), ...F32X4_MUL, ...get(V), ...get(S + 5), ...F32X4_MUL, ...F32X4_SQRT, ...get(S + 6), ...F32X4_ADD, ...F32X4_DIV, ...get(S + 7), ...F32X4_MUL,
    ...at(0, I), ...V128_LOAD, ...F32X4_ADD, ...flushBelow(TINY_WEIGHT, X),
    ...(withL2 ? [LOCAL_TEE, X, ...V128_STORE, ...get(X), ...get(X), ...F32X4_MUL, ...get(ACC), ...F32X4_ADD, ...set(ACC)] : V128_STORE),
    ...get(I), I32_CONST, 16, I32_ADD, ...set(I), BR, 0,
    END, END,
    // with L2: the new weights' sum of squares, summed over lanes as sumSquares does
    ...(withL2 ? [...get(ACC), ...F32X4_EXTRACT(0), ...get(ACC), ...F32X4_EXTRACT(1), F32_ADD, ...get(ACC), ...F32X4_EXTRACT(2), F32_ADD, ...get(ACC), ...F32X4_EXTRACT(3), F32_ADD] : []),
    END,
  ];
  return [...vec([[...uleb(2), I32], [...uleb(NS + (withL2 ? 5 : 4)), V128]]), ...code];
}

function sumSquaresBody(): number[] {
  // params: 0 x, 1 n; locals: 2 i, 3 end, 4 acc, 5 t
  const code = [
    ...get(1), I32_CONST, 2, I32_SHL, ...set(3),
    BLOCK, VOID, LOOP, VOID,
    ...get(2), ...get(3), I32_GE_U, BR_IF, 1,
    ...at(0, 2), ...V128_LOAD, LOCAL_TEE, 5, ...get(5), ...F32X4_MUL, ...get(4), ...F32X4_ADD, ...set(4),
    ...get(2), I32_CONST, 16, I32_ADD, ...set(2), BR, 0,
    END, END,
    ...get(4), ...F32X4_EXTRACT(0), ...get(4), ...F32X4_EXTRACT(1), F32_ADD, ...get(4), ...F32X4_EXTRACT(2), F32_ADD, ...get(4), ...F32X4_EXTRACT(3), F32_ADD,
    END,
  ];
  return [...vec([[...uleb(2), I32], [...uleb(2), V128]]), ...code];
}

function matMulBody(): number[] {
  // params: 0 a, 1 b, 2 c, 3 m, 4 k, 5 cols, 6 n, 7 saI, 8 saK
  // locals: 9 i, 10 j, 11 kk, 12 pa, 13 pb, 14 rowB (bytes per row of b), 15 sa (bytes per step along a), 16 cols16,
  // 17 cols4, 18 pc; 19-22 four accumulators, 23 the splat of a[i, kk]
  const I = 9, J = 10, K = 11, PA = 12, PB = 13, ROW_B = 14, SA = 15, C16 = 16, C4 = 17, PC = 18, ACC = 19, AV = 23;
  const IF = 0x04;
  const MINUS_16 = 0x70, MINUS_4 = 0x7c; // as one-byte signed LEB128
  const V128_ZERO = [...simd(0x0c), ...new Array(16).fill(0)];
  const loadAt = (offset: number) => [...simd(0x00), 2, offset];
  const storeAt = (offset: number) => [...simd(0x0b), 2, offset];
  const F32_STORE_AT = (offset: number) => [0x38, 2, offset];
  const lanes = (w: number, f: (q: number) => number[]) => Array.from({ length: w }, (_, q) => f(q)).flat();
  // w accumulators = row i of A times columns j .. j+4w of B, k in order; pc = the address of c[i, j]
  const block = (w: number) => [
    ...lanes(w, (q) => [...V128_ZERO, ...set(ACC + q)]),
    ...get(0), ...get(I), ...get(7), I32_MUL, I32_CONST, 2, I32_SHL, I32_ADD, ...set(PA),
    ...get(1), ...get(J), I32_CONST, 2, I32_SHL, I32_ADD, ...set(PB),
    I32_CONST, 0, ...set(K),
    ...whileBelow(K, 4, [I32_CONST, 1], [
      ...get(PA), ...F32_LOAD, ...F32X4_SPLAT, ...set(AV),
      ...lanes(w, (q) => [...get(ACC + q), ...get(PB), ...loadAt(16 * q), ...get(AV), ...F32X4_MUL, ...F32X4_ADD, ...set(ACC + q)]),
      ...get(PA), ...get(SA), I32_ADD, ...set(PA),
      ...get(PB), ...get(ROW_B), I32_ADD, ...set(PB),
    ]),
    ...get(2), ...get(I), ...get(6), I32_MUL, ...get(J), I32_ADD, I32_CONST, 2, I32_SHL, I32_ADD, ...set(PC),
  ];
  const store = (w: number) => lanes(w, (q) => [...get(PC), ...get(ACC + q), ...storeAt(16 * q)]);
  // the last 1-3 columns: computed 4 wide (reading past the row's end), only the lanes inside the row stored
  const storeTail = lanes(3, (l) => [...get(J), I32_CONST, l, I32_ADD, ...get(5), I32_LT_U, IF, VOID, ...get(PC), ...get(ACC), ...F32X4_EXTRACT(l), ...F32_STORE_AT(4 * l), END]);
  const row = [
    I32_CONST, 0, ...set(J),
    ...whileBelow(J, C16, [I32_CONST, 16], [...block(4), ...store(4)]),
    ...whileBelow(J, C4, [I32_CONST, 4], [...block(1), ...store(1)]),
    ...get(J), ...get(5), I32_LT_U, IF, VOID, ...block(1), ...storeTail, END,
  ];
  const code = [
    ...get(6), I32_CONST, 2, I32_SHL, ...set(ROW_B),
    ...get(8), I32_CONST, 2, I32_SHL, ...set(SA),
    ...get(5), I32_CONST, MINUS_16, I32_AND, ...set(C16),
    ...get(5), I32_CONST, MINUS_4, I32_AND, ...set(C4),
    I32_CONST, 0, ...set(I),
    ...whileBelow(I, 3, [I32_CONST, 1], row),
    END,
  ];
  return [...vec([[...uleb(10), I32], [...uleb(5), V128]]), ...code];
}

/** for (counter = start; counter < limit; counter += step) body, with the counter, limit and step in locals. */
function forLoop(counter: number, start: number[], limit: number, step: number, body: number[]): number[] {
  return [...start, ...set(counter), ...whileBelow(counter, limit, get(step), body)];
}

function scalarOpBody(op: number[]): number[] {
  // params: 0 x, 1 dst, 2 n, 3 v; locals: 4 i, 5 end, 6 sixteen, 7 splat(v)
  const code = [
    ...get(2), I32_CONST, 2, I32_SHL, ...set(5), I32_CONST, 16, ...set(6), ...get(3), ...F32X4_SPLAT, ...set(7),
    ...forLoop(4, [I32_CONST, 0], 5, 6, [...at(1, 4), ...at(0, 4), ...V128_LOAD, ...get(7), ...op, ...V128_STORE]),
    END,
  ];
  return [...vec([[...uleb(3), I32], [...uleb(1), V128]]), ...code];
}

function blockReduceBody(isMax: boolean): number[] {
  // params: 0 x, 1 n; locals: 2 i, 3 end, 4 lanes, 5 best
  const F32X4_PICK = isMax ? F32X4_MAX : F32X4_MIN;
  const F32_PICK = isMax ? F32_MAX : F32_MIN;
  const code = [
    ...get(1), I32_CONST, 2, I32_SHL, ...set(3),
    ...get(0), ...V128_LOAD, ...set(4),
    I32_CONST, 16, ...set(2),
    ...whileBelow(2, 3, [I32_CONST, 16], [...get(4), ...at(0, 2), ...V128_LOAD, ...F32X4_PICK, ...set(4)]),
    ...get(4), ...F32X4_EXTRACT(0), ...set(5),
    ...[1, 2, 3].flatMap((lane) => [...get(5), ...get(4), ...F32X4_EXTRACT(lane), F32_PICK, ...set(5)]),
    ...get(5),
    END,
  ];
  return [...vec([[...uleb(2), I32], [...uleb(1), V128], [...uleb(1), F32]]), ...code];
}

/** blockMin and blockMax in one pass: the same lane operations in the same order, so the same two values. */
function blockRangeBody(): number[] {
  // params: 0 x, 1 n; locals: 2 i, 3 end, 4 lo lanes, 5 hi lanes, 6 v, 7 lo, 8 hi
  const reduce = (lanes: number, best: number, pick: number) => [
    ...get(lanes), ...F32X4_EXTRACT(0), ...set(best),
    ...[1, 2, 3].flatMap((lane) => [...get(best), ...get(lanes), ...F32X4_EXTRACT(lane), pick, ...set(best)]),
  ];
  const code = [
    ...get(1), I32_CONST, 2, I32_SHL, ...set(3),
    ...get(0), ...V128_LOAD, LOCAL_TEE, 4, ...set(5),
    I32_CONST, 16, ...set(2),
    ...whileBelow(2, 3, [I32_CONST, 16], [...at(0, 2), ...V128_LOAD, ...set(6), ...get(4), ...get(6), ...F32X4_MIN, ...set(4), ...get(5), ...get(6), ...F32X4_MAX, ...set(5)]),
    ...reduce(4, 7, F32_MIN), ...reduce(5, 8, F32_MAX),
    ...get(7), ...get(8),
    END,
  ];
  return [...vec([[...uleb(2), I32], [...uleb(3), V128], [...uleb(2), F32]]), ...code];
}

/** addScalar, maxScalar and minScalar in one pass: dst = min(max(x + shift, lo), hi), lane by lane as those three. */
function addClampBody(): number[] {
  // params: 0 x, 1 dst, 2 n, 3 shift, 4 lo, 5 hi; locals: 6 i, 7 end, 8 sixteen, 9-11 the splats
  const code = [
    ...get(2), I32_CONST, 2, I32_SHL, ...set(7), I32_CONST, 16, ...set(8),
    ...get(3), ...F32X4_SPLAT, ...set(9), ...get(4), ...F32X4_SPLAT, ...set(10), ...get(5), ...F32X4_SPLAT, ...set(11),
    ...forLoop(6, [I32_CONST, 0], 7, 8, [...at(1, 6), ...at(0, 6), ...V128_LOAD, ...get(9), ...F32X4_ADD, ...get(10), ...F32X4_MAX, ...get(11), ...F32X4_MIN, ...V128_STORE]),
    END,
  ];
  return [...vec([[...uleb(3), I32], [...uleb(3), V128]]), ...code];
}

function batchNormBody(): number[] {
  // params: 0 x, 1 dst, 2 n, 3 c, 4 p; locals: 5 i, 6 j, 7 end, 8 cb (bytes per row), 9 k (i + j), 10 pj (p + j), 11 sixteen
  const load = (addr: number[]) => [...addr, ...V128_LOAD];
  const inner = [
    ...get(5), ...get(6), I32_ADD, ...set(9), ...get(4), ...get(6), I32_ADD, ...set(10),
    ...at(1, 9),
    ...load(at(0, 9)), ...load(get(10)), ...F32X4_SUB,
    ...load(at(10, 8)), ...F32X4_MUL,
    ...load([...at(10, 8), ...get(8), I32_ADD]), ...F32X4_ADD,
    ...V128_STORE,
  ];
  const code = [
    ...get(2), I32_CONST, 2, I32_SHL, ...set(7), ...get(3), I32_CONST, 2, I32_SHL, ...set(8), I32_CONST, 16, ...set(11),
    ...forLoop(5, [I32_CONST, 0], 7, 8, forLoop(6, [I32_CONST, 0], 8, 11, inner)),
    END,
  ];
  return [...vec([[...uleb(7), I32]]), ...code];
}

function columnSumBody(): number[] {
  // params: 0 x, 1 acc, 2 rows, 3 cols, 4 rowBytes; locals: 5 row (its first byte), 6 end, 7 q, 8 qEnd, 9 p
  const V128_LOAD64_ZERO = [...simd(0x5d), 3, 0];
  const F64X2_PROMOTE_LOW = simd(0x5f), F64X2_ADD = simd(0xf0);
  const code = [
    ...get(0), ...set(5),
    ...get(0), ...get(2), ...get(4), I32_MUL, I32_ADD, ...set(6),
    ...get(1), ...get(3), I32_CONST, 3, I32_SHL, I32_ADD, ...set(8),
    BLOCK, VOID, LOOP, VOID,
    ...get(5), ...get(6), I32_GE_U, BR_IF, 1,
    ...get(5), ...set(9), ...get(1), ...set(7),
    BLOCK, VOID, LOOP, VOID,
    ...get(7), ...get(8), I32_GE_U, BR_IF, 1,
    ...get(7), ...get(7), ...V128_LOAD, ...get(9), ...V128_LOAD64_ZERO, ...F64X2_PROMOTE_LOW, ...F64X2_ADD, ...V128_STORE,
    ...get(9), I32_CONST, 8, I32_ADD, ...set(9),
    ...get(7), I32_CONST, 16, I32_ADD, ...set(7),
    BR, 0, END, END,
    ...get(5), ...get(4), I32_ADD, ...set(5),
    BR, 0, END, END,
    END,
  ];
  return [...vec([[...uleb(5), I32]]), ...code];
}

/**
 * Column sums of x and of x*y in float64, two columns per instruction, rows in order: acc[j] += x[r, j] and
 * acc[cols + j] += x[r, j] * y[r, j] (the product in float64), for x and y float32 row-major [rows, cols], cols even.
 * With y = x: a batch norm's sums and sums of squares; with x = dy, y = x: its backward pass's.
 */
function columnPairSumsBody(): number[] {
  // params: 0 x, 1 y, 2 acc, 3 rows, 4 cols; locals: 5 p (x), 6 end, 7 q (acc), 8 qEnd, 9 r (y), 10 accBytes; 11 v, 12 w (v128)
  const V128_LOAD64_ZERO = [...simd(0x5d), 3, 0];
  const F64X2_PROMOTE_LOW = simd(0x5f), F64X2_ADD = simd(0xf0), F64X2_MUL = simd(0xf2);
  const code = [
    ...get(0), ...set(5), ...get(1), ...set(9),
    ...get(0), ...get(3), ...get(4), I32_MUL, I32_CONST, 2, I32_SHL, I32_ADD, ...set(6),
    ...get(4), I32_CONST, 3, I32_SHL, ...set(10),
    ...get(2), ...get(10), I32_ADD, ...set(8),
    BLOCK, VOID, LOOP, VOID,
    ...get(5), ...get(6), I32_GE_U, BR_IF, 1,
    ...get(2), ...set(7),
    BLOCK, VOID, LOOP, VOID,
    ...get(7), ...get(8), I32_GE_U, BR_IF, 1,
    ...get(5), ...V128_LOAD64_ZERO, ...F64X2_PROMOTE_LOW, ...set(11),
    ...get(7), ...get(7), ...V128_LOAD, ...get(11), ...F64X2_ADD, ...V128_STORE,
    ...get(7), ...get(10), I32_ADD,
    ...get(7), ...get(10), I32_ADD, ...V128_LOAD, ...get(11), ...get(9), ...V128_LOAD64_ZERO, ...F64X2_PROMOTE_LOW, ...F64X2_MUL, ...F64X2_ADD, ...V128_STORE,
    ...get(5), I32_CONST, 8, I32_ADD, ...set(5),
    ...get(9), I32_CONST, 8, I32_ADD, ...set(9),
    ...get(7), I32_CONST, 16, I32_ADD, ...set(7),
    BR, 0, END, END,
    BR, 0, END, END,
    END,
  ];
  return [...vec([[...uleb(6), I32], [...uleb(2), V128]]), ...code];
}

/**
 * dst[i] = a[i] * p[j] + b[i] * p[c + j] + p[2c + j] for channel j (the last axis, `c` a multiple of 4, `n` values
 * in all), in float32: a batch norm's input gradient from dy and x.
 */
function twoTermAffineBody(): number[] {
  // params: 0 a, 1 b, 2 dst, 3 n, 4 c, 5 p; locals: 6 i, 7 j, 8 end, 9 cb (bytes per row), 10 k (i + j), 11 pj, 12 sixteen
  const load = (addr: number[]) => [...addr, ...V128_LOAD];
  const inner = [
    ...get(6), ...get(7), I32_ADD, ...set(10), ...get(5), ...get(7), I32_ADD, ...set(11),
    ...at(2, 10),
    ...load(at(0, 10)), ...load(get(11)), ...F32X4_MUL,
    ...load(at(1, 10)), ...load(at(11, 9)), ...F32X4_MUL, ...F32X4_ADD,
    ...load([...at(11, 9), ...get(9), I32_ADD]), ...F32X4_ADD,
    ...V128_STORE,
  ];
  const code = [
    ...get(3), I32_CONST, 2, I32_SHL, ...set(8), ...get(4), I32_CONST, 2, I32_SHL, ...set(9), I32_CONST, 16, ...set(12),
    ...forLoop(6, [I32_CONST, 0], 8, 9, forLoop(7, [I32_CONST, 0], 9, 12, inner)),
    END,
  ];
  return [...vec([[...uleb(7), I32]]), ...code];
}

/**
 * One max-pooling window's first maximum per channel, for its gradient: for each group of 4 channels, a running
 * maximum with f32x4.gt (strictly greater, so ties keep the first in row-major window order, and NaN or a window of
 * -Infinity is never taken) and the byte address it was read from, stored to `idx` (uint32 per channel, 0xffffffff
 * where none was taken).
 */
function poolArgmaxBody(): number[] {
  // params: 0 src (the window's first pixel), 1 rowBytes, 2 pixBytes, 3 rows, 4 cols, 5 cBytes, 6 idx;
  // locals: 7 ch, 8 y, 9 x, 10 rowAddr, 11 addr; 12 best, 13 at, 14 v, 15 mask, 16 lane offsets (v128)
  const I32X4_SPLAT = simd(0x11), I32X4_ADD = simd(0xae), F32X4_GT = simd(0x44), V128_BITSELECT = simd(0x52);
  const i32x4Const = (values: number[]) => [...simd(0x0c), ...new Uint8Array(new Int32Array(values).buffer)];
  const column = [
    ...get(11), ...V128_LOAD, ...set(14),
    ...get(14), ...get(12), ...F32X4_GT, ...set(15),
    ...get(14), ...get(12), ...get(15), ...V128_BITSELECT, ...set(12),
    ...get(11), ...I32X4_SPLAT, ...get(16), ...I32X4_ADD, ...get(13), ...get(15), ...V128_BITSELECT, ...set(13),
    ...get(11), ...get(2), I32_ADD, ...set(11),
  ];
  const row = [
    ...get(10), ...set(11), I32_CONST, 0, ...set(9),
    ...whileBelow(9, 4, [I32_CONST, 1], column),
    ...get(10), ...get(1), I32_ADD, ...set(10),
  ];
  const channels = [
    ...f32x4Const(-Infinity), ...set(12), ...i32x4Const([-1, -1, -1, -1]), ...set(13),
    ...get(0), ...get(7), I32_ADD, ...set(10), I32_CONST, 0, ...set(8),
    ...whileBelow(8, 3, [I32_CONST, 1], row),
    ...get(6), ...get(7), I32_ADD, ...get(13), ...V128_STORE,
  ];
  const code = [
    ...i32x4Const([0, 4, 8, 12]), ...set(16),
    I32_CONST, 0, ...set(7),
    ...whileBelow(7, 5, [I32_CONST, 16], channels),
    END,
  ];
  return [...vec([[...uleb(5), I32], [...uleb(5), V128]]), ...code];
}

/** ReLU's gradient as tfjs writes it, dy * step(x): dst = dy * (x > 0 ? 1 : x is NaN ? x : 0), 4 lanes at a time. */
function reluGradBody(): number[] {
  // params: 0 dy, 1 x, 2 dst, 3 n; locals: 4 i, 5 end, 6 sixteen; 7 v (x), 8 one, 9 zero (v128)
  const F32X4_GT = simd(0x44), F32X4_NE = simd(0x42), V128_BITSELECT = simd(0x52);
  const code = [
    ...get(3), I32_CONST, 2, I32_SHL, ...set(5), I32_CONST, 16, ...set(6),
    ...f32x4Const(1), ...set(8), ...f32x4Const(0), ...set(9),
    ...forLoop(4, [I32_CONST, 0], 5, 6, [
      ...at(2, 4),
      ...at(0, 4), ...V128_LOAD,
      ...at(1, 4), ...V128_LOAD, ...set(7),
      // step(x): 1 where x > 0, x itself where it is NaN, else 0
      ...get(8), ...get(7), ...get(9), ...get(7), ...get(7), ...F32X4_NE, ...V128_BITSELECT, ...get(7), ...get(9), ...F32X4_GT, ...V128_BITSELECT,
      ...F32X4_MUL, ...V128_STORE,
    ]),
    END,
  ];
  return [...vec([[...uleb(3), I32], [...uleb(3), V128]]), ...code];
}

/**
 * One row of a convolution's patch rows (conv-filter-gradient.ts): for each image b < n and output row y < oh, the
 * `ow` values `cBytes` apart from src + b * imageBytes + y * rowBytes, stored one after another from dst.
 */
function patchRowBody(): number[] {
  // params: 0 src, 1 dst, 2 n, 3 oh, 4 ow, 5 imageBytes, 6 rowBytes, 7 cBytes; locals: 8 b, 9 y, 10 x, 11 p, 12 o, 13 image
  const pixels = [
    ...get(12), ...get(11), ...F32_LOAD, ...F32_STORE,
    ...get(11), ...get(7), I32_ADD, ...set(11),
    ...get(12), I32_CONST, 4, I32_ADD, ...set(12),
  ];
  const rows = [
    ...get(13), ...get(9), ...get(6), I32_MUL, I32_ADD, ...set(11),
    I32_CONST, 0, ...set(10),
    ...whileBelow(10, 4, [I32_CONST, 1], pixels),
  ];
  const images = [
    ...get(0), ...get(8), ...get(5), I32_MUL, I32_ADD, ...set(13),
    I32_CONST, 0, ...set(9),
    ...whileBelow(9, 3, [I32_CONST, 1], rows),
  ];
  const code = [...get(1), ...set(12), I32_CONST, 0, ...set(8), ...whileBelow(8, 2, [I32_CONST, 1], images), END];
  return [...vec([[...uleb(6), I32]]), ...code];
}

function zeroBody(): number[] {
  // params: 0 dst, 1 bytes; memory.fill(dst, 0, bytes)
  const MEMORY_FILL = [0xfc, 0x0b, 0x00];
  return [...vec([]), ...get(0), I32_CONST, 0, ...get(1), ...MEMORY_FILL, END];
}

/**
 * The module's bytes: imports env.memory (declared shared, up to 4 GiB, for the threaded backend's memory), exports
 * adam, sumSquares, adamL2, matMul, minScalar, maxScalar, batchNorm, zero, columnSum, warp, addScalar, blockMin,
 * blockMax, blockRange, addClamp, columnPairSums, twoTermAffine, poolArgmax, reluGrad and patchRow.
 */
export function simdModuleBytes(sharedMemory = false): Uint8Array {
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32], [F32], [F32], [F32], [F32], [F32], [F32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32]]), ...vec([[F32]])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32], [F32], [F32], [F32], [F32], [F32], [F32], [F32]]), ...vec([[F32]])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32], [F32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([])],
    WARP_TYPE,
    [0x60, ...vec([[I32], [I32]]), ...vec([[F32], [F32]])],
    [0x60, ...vec([[I32], [I32], [I32], [F32], [F32], [F32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])],
  ]);
  const limits = sharedMemory ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00];
  const imports = vec([[...str("env"), ...str("memory"), 0x02, ...limits]]);
  const functions = vec([[0], [1], [2], [3], [4], [4], [5], [6], [5], [8], [4], [1], [1], [9], [10], [5], [11], [12], [7], [13]]);
  const names = ["adam", "sumSquares", "adamL2", "matMul", "minScalar", "maxScalar", "batchNorm", "zero", "columnSum", "warp", "addScalar", "blockMin", "blockMax", "blockRange", "addClamp", "columnPairSums", "twoTermAffine", "poolArgmax", "reluGrad", "patchRow"];
  const exports = vec(names.map((name, i) => [...str(name), 0x00, i]));
  const bodies = [adamBody(false), sumSquaresBody(), adamBody(true), matMulBody(), scalarOpBody(F32X4_MIN), scalarOpBody(F32X4_MAX), batchNormBody(), zeroBody(), columnSumBody(), warpBody(), scalarOpBody(F32X4_ADD), blockReduceBody(false), blockReduceBody(true), blockRangeBody(), addClampBody(), columnPairSumsBody(), twoTermAffineBody(), poolArgmaxBody(), reluGradBody(), patchRowBody()].map((b) => [...uleb(b.length), ...b]);
  const code = vec(bodies);
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...section(1, types), ...section(2, imports), ...section(3, functions), ...section(7, exports), ...section(10, code)]);
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/** The kernels bound to a wasm memory (the tfjs backend's), or null where SIMD WebAssembly cannot run. */
export function simdKernels(memory: WebAssembly.Memory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!;
  let kernels: SimdKernels | null = null;
  try {
    const bytes = simdModuleBytes(typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer);
    if (WebAssembly.validate(bytes)) kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as SimdKernels;
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}

/** The tfjs wasm backend's memory: exported by its single-threaded build, imported (and shared) by the threaded one. */
export function wasmMemoryOf(backend: unknown): WebAssembly.Memory | null {
  const wasm = (backend as { wasm?: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory } }).wasm;
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
