/**
 * The SIMD module's matMul alone on the shapes of a feature head's Dense layer (forward, weight gradient, input
 * gradient) and a larger one: milliseconds per call and GFLOPS, one thread. `npx tsx scripts/measure-matmul.ts`;
 * run it at two commits to compare kernels (docs/performance-engine.md).
 */
import { simdKernels, type SimdKernels } from "../lib/engine/wasm-simd";
const mem = new WebAssembly.Memory({ initial: 600 });
const k = simdKernels(mem) as SimdKernels;
const heap = new Float32Array(mem.buffer);
for (let i = 0; i < heap.length; i++) heap[i] = Math.fround(Math.sin(i) * 2);
const MB = 1 << 20;
const shapes: Array<[string, number, number, number, boolean]> = [
  ["forward 32x9216x128", 32, 9216, 128, false],
  ["dW 9216x32x128 (tA)", 9216, 32, 128, true],
  ["dx 32x128x9216 (W^T copied)", 32, 128, 9216, false],
  ["larger 64x4096x256", 64, 4096, 256, false],
  ["conv filter gradient 27x100096x32", 27, 100096, 32, false],
];
for (const [name, m, kk, n, t] of shapes) {
  const A = 0,
    B = 16 * MB,
    C = 32 * MB;
  const [saI, saK] = t ? [1, m] : [kk, 1];
  k.matMul(A, B, C, m, kk, n, n, saI, saK);
  const reps = 30;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) k.matMul(A, B, C, m, kk, n, n, saI, saK);
  const ms = (performance.now() - t0) / reps;
  const gf = (2 * m * kk * n) / ms / 1e6;
  // the outputs' sum: the same at every commit, since each output sums its products in order
  let cs = 0;
  for (let i = 0; i < m * n; i++) cs += heap[C / 4 + i];
  console.log(`${name}: ${ms.toFixed(2)} ms, ${gf.toFixed(1)} GFLOPS, checksum ${cs}`);
}
