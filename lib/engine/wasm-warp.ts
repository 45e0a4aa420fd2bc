/**
 * The augmenter's affine warp (tf.image.transform, bilinear, fill "nearest" or "constant") as a WebAssembly loop for
 * the SIMD module (wasm-simd.ts): JavaScript spent ~30 ns a pixel on it (index arithmetic, bounds checks, float
 * conversions), most of the augmentation's time. Same operations as the JS kernel in wasm-image-kernels.ts, so the same
 * values bit for bit: source coordinates in float32 as the backend computes them, weights and blend in float64,
 * rounded to float32 once, and the fill value for a neighbour outside the image.
 */
import {
  END, F32, F32_ADD, F32_CONVERT_I32_S, F32_DEMOTE_F64, F32_LOAD, F32_MAX, F32_MIN, F32_MUL, F32_STORE, F64, F64_ADD, F64_FLOOR,
  F64_MUL, F64_PROMOTE_F32, F64_SUB, I32, I32_ADD, I32_AND, I32_CONST, I32_LT_U, I32_MUL, I32_SHL, I32_SUB, I32_TRUNC_SAT_F64_S, LOCAL_TEE,
  ELSE, IF, SELECT, V128, VOID, f64Const, get, set, simd, vec, uleb, whileBelow,
} from "./wasm-asm";

/**
 * warp(src, dst, inH, inW, ch, outH, outW, clamp, a0, a1, a2, b0, b1, b2, fill): one image, float32 NHWC at byte
 * addresses src and dst; output pixel (x, y) reads input (a0 x + a1 y + a2, b0 x + b1 y + b2), clamped to the image
 * when clamp is 1 (fill mode "nearest"), else neighbours outside it read `fill` (fill mode "constant").
 */
export const WARP_TYPE = [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32], [F32], [F32], [F32], [F32], [F32], [F32], [F32]]), ...vec([])];

export function warpBody(): number[] {
  // params: 0 src, 1 dst, 2 inH, 3 inW, 4 ch, 5 outH, 6 outW, 7 clamp, 8 a0, 9 a1, 10 a2, 11 b0, 12 b1, 13 b2, 14 fill
  const [SRC, DST, IN_H, IN_W, CH, OUT_H, OUT_W, CLAMP, A0, A1, A2, B0, B1, B2, FILL] = Array.from({ length: 15 }, (_, i) => i);
  // locals: i32 oy, ox, o, x0, y0, c (bytes), p00, p01, p10, p11, rowBytes, pixBytes, in00, in01, in10, in11;
  // f32 xy, yy, x, y, maxX, maxY; f64 wx0, wx1, wy0, wy1, fill, floor(y), floor(x)
  const [OY, OX, O, X0, Y0, C, P00, P01, P10, P11, ROW, PIX, IN00, IN01, IN10, IN11] = Array.from({ length: 16 }, (_, i) => 15 + i);
  const [XY, YY, X, Y, MAX_X, MAX_Y] = Array.from({ length: 6 }, (_, i) => 31 + i);
  const [WX0, WX1, WY0, WY1, FILL_D, Y0D, X0D] = Array.from({ length: 7 }, (_, i) => 37 + i);
  // i32 pairsEnd (bytes of a pixel's whole channel pairs); v128 the four weights, each in both f64x2 lanes
  const PAIRS_END = 44;
  const [WX0V, WX1V, WY0V, WY1V] = [45, 46, 47, 48];
  const one = [I32_CONST, 1];
  // v = min(max, v) then max(0, v) when clamping (NaN stays NaN, as in the JS kernel)
  const clampTo = (v: number, max: number) => [...get(max), ...get(v), F32_MIN, ...f32Zero(), F32_MAX, ...get(v), ...get(CLAMP), SELECT, ...set(v)];
  // floor in float64, its integer (saturating), the two weights: w1 = v - floor(v), w0 = floor(v) + 1 - v
  const split = (v: number, floorD: number, floorI: number, w0: number, w1: number) => [
    ...get(v), F64_PROMOTE_F32, F64_FLOOR, LOCAL_TEE, floorD, ...I32_TRUNC_SAT_F64_S, ...set(floorI),
    ...get(v), F64_PROMOTE_F32, ...get(floorD), F64_SUB, ...set(w1),
    ...get(floorD), ...f64Const(1), F64_ADD, ...get(v), F64_PROMOTE_F32, F64_SUB, ...set(w0),
  ];
  // a neighbour's value, or the fill value outside the image (its address is then src, always readable)
  const neighbour = (p: number, inside: number) => [...get(p), ...get(C), I32_ADD, ...F32_LOAD, F64_PROMOTE_F32, ...get(FILL_D), ...get(inside), SELECT];
  const safe = (p: number, inside: number) => [...get(p), ...get(SRC), ...get(inside), SELECT, ...set(p)];
  // Interior pixels (all four neighbours inside): two channels per f64x2 operation, the same float64 products and
  // sums in the same order as the scalar blend below (so the same values), a pair read with v128.load64_zero and
  // an odd last channel with v128.load32_zero, so nothing outside the image is read or written.
  const lanes = (p: number, load: number[]) => [...get(p), ...get(C), I32_ADD, ...load, ...F64X2_PROMOTE_LOW];
  const blend = (load: number[]) => [
    ...get(WY0V), ...get(WX0V), ...lanes(P00, load), ...F64X2_MUL, ...get(WX1V), ...lanes(P01, load), ...F64X2_MUL, ...F64X2_ADD, ...F64X2_MUL,
    ...get(WY1V), ...get(WX0V), ...lanes(P10, load), ...F64X2_MUL, ...get(WX1V), ...lanes(P11, load), ...F64X2_MUL, ...F64X2_ADD, ...F64X2_MUL,
    ...F64X2_ADD, ...F32X4_DEMOTE_ZERO,
  ];
  const interior = [
    ...get(WX0), ...F64X2_SPLAT, ...set(WX0V), ...get(WX1), ...F64X2_SPLAT, ...set(WX1V),
    ...get(WY0), ...F64X2_SPLAT, ...set(WY0V), ...get(WY1), ...F64X2_SPLAT, ...set(WY1V),
    I32_CONST, 0, ...set(C),
    ...whileBelow(C, PAIRS_END, [I32_CONST, 8], [...get(O), ...get(C), I32_ADD, ...blend(V128_LOAD64_ZERO), ...V128_STORE64_LANE0]),
    ...get(C), ...get(PIX), I32_LT_U, IF, VOID, ...get(O), ...get(C), I32_ADD, ...blend(V128_LOAD32_ZERO), ...V128_STORE32_LANE0, END,
  ];
  const edge = [
    ...safe(P00, IN00), ...safe(P01, IN01), ...safe(P10, IN10), ...safe(P11, IN11),
    I32_CONST, 0, ...set(C),
    ...whileBelow(C, PIX, [I32_CONST, 4], [
      // dst = wy0 (wx0 v00 + wx1 v01) + wy1 (wx0 v10 + wx1 v11), rounded to float32 once
      ...get(O), ...get(C), I32_ADD,
      ...get(WY0), ...get(WX0), ...neighbour(P00, IN00), F64_MUL, ...get(WX1), ...neighbour(P01, IN01), F64_MUL, F64_ADD, F64_MUL,
      ...get(WY1), ...get(WX0), ...neighbour(P10, IN10), F64_MUL, ...get(WX1), ...neighbour(P11, IN11), F64_MUL, F64_ADD, F64_MUL,
      F64_ADD, F32_DEMOTE_F64, ...F32_STORE,
    ]),
  ];
  const pixel = [
    // x = (a0 ox + a1 oy) + a2, y likewise, in float32
    ...get(A0), ...get(OX), F32_CONVERT_I32_S, F32_MUL, ...get(XY), F32_ADD, ...get(A2), F32_ADD, ...set(X),
    ...get(B0), ...get(OX), F32_CONVERT_I32_S, F32_MUL, ...get(YY), F32_ADD, ...get(B2), F32_ADD, ...set(Y),
    ...clampTo(X, MAX_X), ...clampTo(Y, MAX_Y),
    ...split(Y, Y0D, Y0, WY0, WY1), ...split(X, X0D, X0, WX0, WX1),
    // which of the four neighbours are inside (unsigned comparisons also reject negatives)
    ...get(Y0), ...get(IN_H), I32_LT_U, ...get(X0), ...get(IN_W), I32_LT_U, I32_AND, ...set(IN00),
    ...get(Y0), ...get(IN_H), I32_LT_U, ...get(X0), ...one, I32_ADD, ...get(IN_W), I32_LT_U, I32_AND, ...set(IN01),
    ...get(Y0), ...one, I32_ADD, ...get(IN_H), I32_LT_U, ...get(X0), ...get(IN_W), I32_LT_U, I32_AND, ...set(IN10),
    ...get(Y0), ...one, I32_ADD, ...get(IN_H), I32_LT_U, ...get(X0), ...one, I32_ADD, ...get(IN_W), I32_LT_U, I32_AND, ...set(IN11),
    ...get(SRC), ...get(Y0), ...get(IN_W), I32_MUL, ...get(X0), I32_ADD, ...get(PIX), I32_MUL, I32_ADD, LOCAL_TEE, P00,
    ...get(PIX), I32_ADD, ...set(P01),
    ...get(P00), ...get(ROW), I32_ADD, LOCAL_TEE, P10, ...get(PIX), I32_ADD, ...set(P11),
    // (IN00 and IN11 together mean all four are inside)
    ...get(IN00), ...get(IN11), I32_AND, IF, VOID, ...interior, ELSE, ...edge, END,
    ...get(O), ...get(PIX), I32_ADD, ...set(O),
  ];
  const row = [
    ...get(A1), ...get(OY), F32_CONVERT_I32_S, F32_MUL, ...set(XY),
    ...get(B1), ...get(OY), F32_CONVERT_I32_S, F32_MUL, ...set(YY),
    I32_CONST, 0, ...set(OX),
    ...whileBelow(OX, OUT_W, one, pixel),
  ];
  const code = [
    ...get(CH), I32_CONST, 2, I32_SHL, LOCAL_TEE, PIX, I32_CONST, ...sleb(-8), I32_AND, ...set(PAIRS_END),
    ...get(IN_W), ...get(PIX), I32_MUL, ...set(ROW),
    ...get(IN_W), ...one, I32_SUB, F32_CONVERT_I32_S, ...set(MAX_X),
    ...get(IN_H), ...one, I32_SUB, F32_CONVERT_I32_S, ...set(MAX_Y),
    ...get(FILL), F64_PROMOTE_F32, ...set(FILL_D),
    ...get(DST), ...set(O),
    I32_CONST, 0, ...set(OY),
    ...whileBelow(OY, OUT_H, one, row),
    END,
  ];
  return [...vec([[...uleb(16), I32], [...uleb(6), F32], [...uleb(7), F64], [...uleb(1), I32], [...uleb(4), V128]]), ...code];
}

const F64X2_SPLAT = simd(0x14), F64X2_ADD = simd(0xf0), F64X2_MUL = simd(0xf2);
const F64X2_PROMOTE_LOW = simd(0x5f), F32X4_DEMOTE_ZERO = simd(0x5e);
/** v128.load64_zero / v128.load32_zero (alignment 4 bytes), and v128.store64_lane / store32_lane of lane 0. */
const V128_LOAD64_ZERO = [...simd(0x5d), 2, 0], V128_LOAD32_ZERO = [...simd(0x5c), 2, 0];
const V128_STORE64_LANE0 = [...simd(0x5b), 2, 0, 0], V128_STORE32_LANE0 = [...simd(0x5a), 2, 0, 0];

/** A small signed LEB128 (i32.const's immediate), for -64 <= n < 64. */
function sleb(n: number): number[] {
  if (n < -64 || n >= 64) throw new RangeError(`sleb: ${n} needs more than one byte`);
  return [n & 0x7f];
}

/** f32.const 0 */
function f32Zero(): number[] {
  return [0x43, 0, 0, 0, 0];
}
