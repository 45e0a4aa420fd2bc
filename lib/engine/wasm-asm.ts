/**
 * The few WebAssembly encodings the project's hand-assembled modules (wasm-simd.ts, wasm-warp.ts) are written with:
 * value types, opcodes as standardised (core, SIMD, saturating conversions) and the binary format's LEB128 and vectors.
 */

export const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
export const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22;
export const I32_CONST = 0x41, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_AND = 0x71, I32_SHL = 0x74, I32_GE_U = 0x4f, I32_LT_U = 0x49;
export const F32_ADD = 0x92, F32_MUL = 0x94, F32_MIN = 0x96, F32_MAX = 0x97;
export const F64_ADD = 0xa0, F64_SUB = 0xa1, F64_MUL = 0xa2, F64_FLOOR = 0x9c;
export const F32_CONVERT_I32_S = 0xb2, F32_DEMOTE_F64 = 0xb6, F64_PROMOTE_F32 = 0xbb;
export const SELECT = 0x1b;
export const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, BR = 0x0c, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
/** f32.load / f32.store with 4-byte alignment and no offset. */
export const F32_LOAD = [0x2a, 2, 0], F32_STORE = [0x38, 2, 0];
/** i32.trunc_sat_f64_s: NaN gives 0 and out-of-range values saturate, where i32.trunc_f64_s would trap. */
export const I32_TRUNC_SAT_F64_S = [0xfc, 0x02];

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}
export const simd = (op: number) => [0xfd, ...uleb(op)];
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
export const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
export const get = (i: number) => [LOCAL_GET, i];
export const set = (i: number) => [LOCAL_SET, i];
/** f64.const with `value`'s eight little-endian bytes. */
export const f64Const = (value: number) => [0x44, ...new Uint8Array(new Float64Array([value]).buffer)];

/** while (counter < limit) { body; counter += step }, for i32 locals counter and limit and a constant or local step. */
export function whileBelow(counter: number, limit: number, step: number[], body: number[]): number[] {
  return [BLOCK, VOID, LOOP, VOID, ...get(counter), ...get(limit), I32_GE_U, BR_IF, 1, ...body, ...get(counter), ...step, I32_ADD, ...set(counter), BR, 0, END, END];
}
