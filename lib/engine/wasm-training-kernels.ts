/**
 * Faster versions of the wasm kernels a small CNN's training step leans on: Tile (a BatchNormalization layer's
 * gradient broadcasts the per-channel statistics to the whole batch), Sum/Mean over the leading axes (the per-channel
 * statistics themselves) and MaxPoolGrad. The backend's Tile indexes every output value through a generic loop, its
 * Sum/Mean first transpose the reduced axes to the end, and its MaxPoolGrad searches each window once per channel.
 * Also Slice, which model.fit calls every batch.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { backendSimd, zeroHeap } from "./wasm-simd";

type TensorInfo = tf.TensorInfo;

/**
 * Copies the first `block` values at `start` so that `reps` copies of them lie end to end from `start`, doubling the
 * copied run each time (log2(reps) calls to copyWithin).
 */
function repeatBlock(out: tf.TypedArray, start: number, block: number, reps: number): void {
  for (let done = 1; done < reps; ) {
    const now = Math.min(done, reps - done);
    out.copyWithin(start + done * block, start, start + now * block);
    done += now;
  }
}

/**
 * Tile for numeric tensors: the innermost axis is copied once per source row, and every axis's repetitions are then
 * made by copying whole blocks, so the work is one memcpy-like pass over the output.
 */
function fastTile(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm;
    const x = args.inputs.x as TensorInfo;
    const reps = (args.attrs as unknown as { reps: number[] }).reps;
    if (
      x.dtype === "string" ||
      x.dtype === "complex64" ||
      reps.length !== x.shape.length ||
      x.shape.length === 0
    )
      return original(args);
    const rank = x.shape.length;
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(outShape, x.dtype);
    if (!tf.util.sizeFromShape(outShape)) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    // Values per index of axis d, in the source and in the output.
    const srcInner = new Array<number>(rank).fill(1);
    const outInner = new Array<number>(rank).fill(1);
    for (let d = rank - 2; d >= 0; d--) {
      srcInner[d] = srcInner[d + 1] * x.shape[d + 1];
      outInner[d] = outInner[d + 1] * outShape[d + 1];
    }
    const fill = (d: number, from: number, to: number): void => {
      if (d === rank - 1) dst.set(src.subarray(from, from + x.shape[d]), to);
      else
        for (let i = 0; i < x.shape[d]; i++)
          fill(d + 1, from + i * srcInner[d], to + i * outInner[d]);
      repeatBlock(dst, to, x.shape[d] * outInner[d], reps[d]);
    };
    fill(0, 0, 0);
    return out;
  };
}

/**
 * The reduced axes when they are the leading ones (0, 1, ..., j-1, with j < rank), e.g. a batch norm's statistics over
 * [batch, height, width] of NHWC; else null.
 */
function leadingAxes(shape: number[], axis: number | number[]): number | null {
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  if (!axes.length || axes.length >= shape.length) return null;
  return axes.every((a, i) => a === i) ? axes.length : null;
}

/**
 * Sum (or Mean) of a float32 tensor over its leading axes: each row of the remaining axes is added into float64
 * accumulators (as exact as the backend's float32 sum or more; the order of additions differs).
 */
function fastLeadingReduce(original: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm;
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    if (x.dtype !== "float32") return original(args);
    const lead = leadingAxes(x.shape, axis);
    if (lead === null) return original(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, lead));
    const width = tf.util.sizeFromShape(x.shape.slice(lead));
    const outShape = keepDims ? x.shape.map((d, i) => (i < lead ? 1 : d)) : x.shape.slice(lead);
    const out = backend.makeOutput(outShape, "float32");
    const kernels = backendSimd(backend);
    // The SIMD module's float64 column sums (same additions in the same order), in a scratch buffer on the heap; for
    // an odd width (RGB's 3) the last column in JS, the rest with the rows `width` values apart.
    const scratch = kernels && width >= 2 ? backend.makeOutput([2 * width], "float32") : null;
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    let acc: Float64Array;
    let from = 0;
    if (scratch) {
      const view = backend.typedArrayFromHeap(scratch) as Float32Array;
      acc = new Float64Array(view.buffer, view.byteOffset, width);
      from = width - (width % 2);
      kernels!.zero(view.byteOffset, view.byteLength);
      kernels!.columnSum(src.byteOffset, view.byteOffset, rows, from, 4 * width);
    } else acc = new Float64Array(width);
    for (let r = 0, o = 0; r < rows; r++, o += width)
      for (let j = from; j < width; j++) acc[j] += src[o + j];
    for (let j = 0; j < width; j++) dst[j] = mean ? acc[j] / rows : acc[j];
    if (scratch)
      (backend as unknown as { disposeData(id: unknown): boolean }).disposeData(scratch.dataId);
    return out;
  };
}

/**
 * Each pooling window inside the input, in output order: the element index of its first pixel, its rows and columns
 * inside the input (padding cut off), and the element index of its output.
 */
function forEachWindow(
  info: tf.backend_util.Conv2DInfo,
  visit: (start: number, rows: number, cols: number, o: number) => void,
): void {
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels: c,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
  } = info;
  for (let b = 0; b < batchSize; b++) {
    const base = b * inHeight * inWidth * c;
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - info.padInfo.top;
      const yFrom = Math.max(0, y0),
        yTo = Math.min(inHeight, y0 + filterHeight);
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * strideWidth - info.padInfo.left;
        const xFrom = Math.max(0, x0),
          xTo = Math.min(inWidth, x0 + filterWidth);
        if (yTo > yFrom && xTo > xFrom)
          visit(
            base + (yFrom * inWidth + xFrom) * c,
            yTo - yFrom,
            xTo - xFrom,
            ((b * outHeight + oy) * outWidth + ox) * c,
          );
      }
    }
  }
}

/**
 * MaxPoolGrad (the gradient of a MaxPooling2D layer) for float32 NHWC: each window's maximum is found once for all
 * channels, and that window's incoming gradient is added at it. Ties go to the first maximum in row-major window
 * order and a window of NaNs passes no gradient, as in the cpu backend's kernel.
 */
function fastMaxPoolGrad(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm;
    const dy = args.inputs.dy as TensorInfo;
    const input = args.inputs.input as TensorInfo;
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: "valid" | "same" | number;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    if (input.dtype !== "float32" || dy.dtype !== "float32" || input.shape.length !== 4)
      return original(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { inWidth, inChannels: c } = info;
    const out = backend.makeOutput(input.shape, "float32");
    const kernels = backendSimd(backend);
    // channels in groups of 4 in the SIMD module: each window's first maxima's addresses to a scratch row on the heap
    const scratch = kernels && c % 4 === 0 ? backend.makeOutput([c], "int32") : null;
    // (views only after the allocations, which can move the heap)
    const x = backend.typedArrayFromHeap(input) as Float32Array;
    const g = backend.typedArrayFromHeap(dy) as Float32Array;
    const dx = backend.typedArrayFromHeap(out) as Float32Array;
    zeroHeap(kernels, dx);
    if (scratch) {
      const idx = backend.typedArrayFromHeap(scratch) as Int32Array;
      // the whole batch in one call: each window as forEachWindow would visit it
      kernels!.maxPoolGrad(
        x.byteOffset,
        g.byteOffset,
        dx.byteOffset - x.byteOffset,
        idx.byteOffset,
        info.batchSize,
        info.inHeight,
        inWidth,
        c,
        info.outHeight,
        info.outWidth,
        info.filterHeight,
        info.filterWidth,
        info.strideHeight,
        info.strideWidth,
        info.padInfo.top,
        info.padInfo.left,
      );
      (backend as unknown as { disposeData(id: unknown): boolean }).disposeData(scratch.dataId);
      return out;
    }
    const best = new Float32Array(c);
    const at = new Int32Array(c);
    forEachWindow(info, (start, rows, cols, o) => {
      best.fill(-Infinity);
      at.fill(-1);
      for (let y = 0; y < rows; y++)
        for (let xx = 0; xx < cols; xx++) {
          const p = start + (y * inWidth + xx) * c;
          for (let k = 0; k < c; k++)
            if (x[p + k] > best[k]) {
              best[k] = x[p + k];
              at[k] = p + k;
            }
        }
      for (let k = 0; k < c; k++) if (at[k] >= 0) dx[at[k]] += g[o + k];
    });
    return out;
  };
}

/**
 * Slice of a contiguous run (model.fit's next batch of shuffled indices, a batch of rows) as one copy through a heap
 * view: the backend's kernel first copies the whole input out of the heap (readSync), so model.fit's per-batch slice of
 * an epoch's index array cost O(epoch), not O(batch). Other slices, and strings, go to the backend's kernel.
 */
function viewSlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm;
    const x = args.inputs.x as TensorInfo;
    const { begin, size } = args.attrs as unknown as {
      begin: number | number[];
      size: number | number[];
    };
    if (x.dtype === "string" || x.dtype === "complex64") return original(args);
    const [start, extent] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    if (!tf.slice_util.isSliceContinous(x.shape, start, extent)) return original(args);
    const out = backend.makeOutput(extent, x.dtype);
    const count = tf.util.sizeFromShape(extent);
    if (!count) return out;
    const from = tf.slice_util.computeFlatOffset(start, tf.util.computeStrides(x.shape));
    // Views only after makeOutput, which can grow (and so move) the heap.
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(from, from + count));
    return out;
  };
}

/** The kernels above as [kernel name, wrapper of the backend's own kernel]. */
export const TRAINING_KERNELS: Array<[string, (original: tf.KernelFunc) => tf.KernelFunc]> = [
  ["Tile", fastTile],
  ["Sum", (k) => fastLeadingReduce(k, false)],
  ["Mean", (k) => fastLeadingReduce(k, true)],
  ["MaxPoolGrad", fastMaxPoolGrad],
  ["Slice", viewSlice],
];
