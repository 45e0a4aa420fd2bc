// The SIMD helper thread (simd-helper.ts starts it): the same kernel module as the calling thread, bound to the
// same shared memory, and a loop that waits for a request in the shared control words, runs it and reports it
// done. Plain JavaScript so that a Worker can start it without a TypeScript loader.
"use strict";
const { workerData } = require("worker_threads");

const { memory, bytes, control, params, sums, matrices } = workerData;
const kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
  .exports;
// control: [0] request number, [1] last request done, [2] operation, [3...] its integer arguments
const words = new Int32Array(control);
const floats = new Float64Array(params);
const chunkSums = new Float64Array(sums);
const warps = new Float64Array(matrices);
// The operations, as simd-helper.ts numbers them.
const STOP = -1;
const ADAM = 1;
const ADAM_L2 = 2;
const WARP = 3;
const MATMUL = 4;

function adam(op) {
  const [x, g, m, v, n, chunk] = words.subarray(3, 9);
  const [b1, b2, c1, c2, r1, r2, eps, negLr, l2] = floats;
  if (op === ADAM) return kernels.adam(x, g, m, v, n, b1, b2, c1, c2, r1, r2, eps, negLr);
  // adamL2 chunk by chunk, so the sums of squares are the calling thread's chunks' sums
  for (let i = 0, j = 0; i < n; i += chunk, j++) {
    const at = 4 * i,
      size = Math.min(chunk, n - i);
    chunkSums[j] = kernels.adamL2(
      x + at,
      g + at,
      m + at,
      v + at,
      size,
      b1,
      b2,
      c1,
      c2,
      r1,
      r2,
      eps,
      negLr,
      l2,
    );
  }
}

function warp() {
  const [src, dst, inH, inW, ch, outH, outW, clamp, count, srcStride, dstStride, shifted] =
    words.subarray(3, 15);
  const fill = floats[0];
  // per image: the six affine entries, then its channel shift
  for (let i = 0, j = 0; i < count; i++, j += 7) {
    const [a0, a1, a2, b0, b1, b2, shift] = warps.subarray(j, j + 7);
    const from = src + i * srcStride,
      to = dst + i * dstStride;
    kernels.warp(from, to, inH, inW, ch, outH, outW, clamp, a0, a1, a2, b0, b1, b2, fill);
    if (shifted) kernels.shiftClip(to, outH * outW * ch, shift);
  }
}

let seen = 0;
for (;;) {
  Atomics.wait(words, 0, seen);
  seen = Atomics.load(words, 0);
  const op = words[2];
  if (op === STOP) break;
  if (op === WARP) warp();
  else if (op === MATMUL) kernels.matMul(...words.subarray(3, 12));
  else if (op === ADAM || op === ADAM_L2) adam(op);
  Atomics.store(words, 1, seen);
  Atomics.notify(words, 1);
}
