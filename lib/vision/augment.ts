/**
 * Data augmentation like Keras' ImageDataGenerator (same option names and ranges), done with
 * tfjs ops on whole batches (one affine warp per image via tf.image.transform), seeded.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "./random";
import { SHIFTED_TRANSFORM_KERNEL } from "../engine/wasm-image-kernels";

/** The options, named and meaning as in Keras' ImageDataGenerator. */
export interface AugmentOptions {
  /** Shift left/right by up to this share of the width (< 1) or this many pixels (>= 1). */
  width_shift_range?: number;
  /** Shift up/down by up to this share of the height (< 1) or this many pixels (>= 1). */
  height_shift_range?: number;
  /** Shear angle in radians, up to this much either way (as in the Keras 1 the course used; Keras >= 2.2 takes degrees). */
  shear_range?: number;
  /** Rotation in degrees, up to this much either way. */
  rotation_range?: number;
  /** Zoom factor drawn from [1 - z, 1 + z] (or [lo, hi]) for each axis; above 1 zooms out, as in Keras. */
  zoom_range?: number | [number, number];
  /** Adds one random value in [-c, c] to every channel of an image, clipped to the image's own range. */
  channel_shift_range?: number;
  /** Mirror half of the images left-right. */
  horizontal_flip?: boolean;
  /** How to fill pixels that come from outside the image (default "nearest", as in Keras). */
  fill_mode?: "nearest" | "constant" | "reflect" | "wrap";
  /** Fill value for fill_mode "constant". */
  cval?: number;
  /** Seed for the random draws (default 42). */
  seed?: number;
}

/** One image's transform, in readable units. */
export interface TransformParams {
  /** Rotation in degrees, counter-clockwise as seen on screen. */
  theta: number;
  /** Shift in pixels: +tx moves the content right, +ty moves it down. */
  tx: number;
  ty: number;
  /** Shear in radians: a point d pixels below the centre moves d*tan(shear) pixels to the right. */
  shear: number;
  /** Zoom factors: the content is scaled by 1/zx across and 1/zy down (above 1 zooms out). */
  zx: number;
  zy: number;
  /** Mirror left-right (applied first). */
  flip: boolean;
  /** Added to every channel, then clipped to the image's own min and max. */
  channelShift: number;
}

export const IDENTITY: TransformParams = {
  theta: 0,
  tx: 0,
  ty: 0,
  shear: 0,
  zx: 1,
  zy: 1,
  flip: false,
  channelShift: 0,
};

type M3 = number[]; // row-major 3x3

function mul(a: M3, b: M3): M3 {
  const out = new Array(9).fill(0);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 3; k++) out[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return out;
}

function invert(m: M3): M3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h,
    B = -(d * i - f * g),
    C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    A,
    -(b * i - c * h),
    b * f - c * e,
    B,
    a * i - c * g,
    -(a * f - c * d),
    C,
    -(a * h - b * g),
    a * e - b * d,
  ].map((v) => v / det);
}

/**
 * The 8 numbers tf.image.transform wants (output pixel -> input pixel) for `p` on a
 * width x height image, all transforms about the image centre.
 */
export function transformMatrix(p: TransformParams, width: number, height: number): number[] {
  const cx = (width - 1) / 2,
    cy = (height - 1) / 2;
  const t = (x: number, y: number): M3 => [1, 0, x, 0, 1, y, 0, 0, 1];
  const r = (p.theta * Math.PI) / 180;
  const rot: M3 = [Math.cos(r), Math.sin(r), 0, -Math.sin(r), Math.cos(r), 0, 0, 0, 1];
  const shear: M3 = [1, Math.tan(p.shear), 0, 0, 1, 0, 0, 0, 1];
  const zoom: M3 = [1 / p.zx, 0, 0, 0, 1 / p.zy, 0, 0, 0, 1];
  const flip: M3 = [p.flip ? -1 : 1, 0, 0, 0, 1, 0, 0, 0, 1];
  const forward = [t(cx + p.tx, cy + p.ty), rot, shear, zoom, flip, t(-cx, -cy)].reduce(mul);
  const inv = invert(forward);
  const k = inv[8];
  return [
    inv[0] / k,
    inv[1] / k,
    inv[2] / k,
    inv[3] / k,
    inv[4] / k,
    inv[5] / k,
    inv[6] / k,
    inv[7] / k,
  ];
}

/** An output size in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * `matrix` (output pixel -> pixel of an image of the output's size, as transformMatrix gives it) followed by the
 * resize from a `source`-sized image to `output`, pixel centres on pixel centres as sharp and PIL resize:
 * source = (pixel + 0.5) * source / output - 0.5 on each axis.
 */
export function resampledMatrix(matrix: number[], source: ImageSize, output: ImageSize): number[] {
  const sx = source.width / output.width,
    sy = source.height / output.height;
  const ox = 0.5 * sx - 0.5,
    oy = 0.5 * sy - 0.5;
  const [a0, a1, a2, b0, b1, b2, c0, c1] = matrix;
  // [sx 0 ox; 0 sy oy; 0 0 1] times [a0 a1 a2; b0 b1 b2; c0 c1 1]
  return [
    sx * a0 + ox * c0,
    sx * a1 + ox * c1,
    sx * a2 + ox,
    sy * b0 + oy * c0,
    sy * b1 + oy * c1,
    sy * b2 + oy,
    c0,
    c1,
  ];
}

/**
 * Applies per-image transforms to a batch [n, h, w, c]. With `output`, the transforms are for images of that size
 * and the warp also resizes the batch to it, in the same single bilinear resample (see imageBatches' `augment`).
 */
export function applyTransforms(
  x: tf.Tensor4D,
  params: TransformParams[],
  fill: Pick<AugmentOptions, "fill_mode" | "cval"> = {},
  output?: ImageSize,
): tf.Tensor4D {
  const [n, height, width] = x.shape;
  if (params.length !== n)
    throw new Error(`applyTransforms: ${params.length} transforms for ${n} images`);
  const size = output ?? { width, height };
  if (![size.width, size.height].every((v) => Number.isInteger(v) && v >= 1))
    throw new RangeError(
      `applyTransforms: the output size must be whole numbers >= 1, not ${size.width} x ${size.height}`,
    );
  const resized = size.width !== width || size.height !== height;
  return tf.tidy(() => {
    const matrices = params.map((p) => transformMatrix(p, size.width, size.height));
    const mats = tf.tensor2d(
      resized
        ? matrices.flatMap((m) => resampledMatrix(m, { width, height }, size))
        : matrices.flat(),
      [n, 8],
    );
    const outputShape: [number, number] | undefined = resized
      ? [size.height, size.width]
      : undefined;
    const fillMode = fill.fill_mode ?? "nearest",
      fillValue = fill.cval ?? 0;
    const shifted = params.some((p) => p.channelShift !== 0);
    if (
      shifted &&
      x.dtype === "float32" &&
      tf.getKernel(SHIFTED_TRANSFORM_KERNEL, tf.getBackend())
    ) {
      // wasm: the warp and the shift below as one kernel, image by image while each is in the cache (same values)
      const shifts = tf.tensor1d(
        params.map((p) => p.channelShift),
        "float32",
      );
      const attrs = {
        interpolation: "bilinear",
        fillMode,
        fillValue,
        outputShape: outputShape ?? null,
      };
      return tf
        .engine()
        .runKernel(
          SHIFTED_TRANSFORM_KERNEL,
          { image: x, transforms: mats, shifts },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor4D;
    }
    let out = tf.image.transform(
      x,
      mats,
      "bilinear",
      fillMode,
      fillValue,
      outputShape,
    ) as tf.Tensor4D;
    if (shifted) {
      const lo = out.min([1, 2, 3], true),
        hi = out.max([1, 2, 3], true);
      const shift = tf.tensor4d(
        params.map((p) => p.channelShift),
        [n, 1, 1, 1],
      );
      // Clipped to each image's own [lo, hi] (np.clip in Keras): on wasm, lib/engine's Maximum/Minimum take one
      // value per image in one SIMD pass (the backend's own kernel broadcasts [n, 1, 1, 1] ~300x slower).
      out = out.add(shift).maximum(lo).minimum(hi) as tf.Tensor4D;
    }
    return out;
  });
}

/** Keras-style ImageDataGenerator: random transforms per image, reproducible for a seed. */
export class ImageDataGenerator {
  private rng: Rng;
  constructor(readonly options: AugmentOptions = {}) {
    this.rng = new Rng(options.seed ?? 42);
  }

  /** The options that change the images (for cache keys). */
  config(): AugmentOptions {
    return { ...this.options };
  }

  /** Draws one image's transform for an image of the given size. */
  randomParams(width: number, height: number): TransformParams {
    const o = this.options,
      rng = this.rng;
    const sym = (v = 0) => (v ? rng.uniform(-v, v) : 0);
    const shift = (range: number | undefined, size: number) =>
      range ? (Math.abs(range) < 1 ? sym(range) * size : sym(range)) : 0;
    const z = o.zoom_range;
    const [zlo, zhi] = z === undefined ? [1, 1] : typeof z === "number" ? [1 - z, 1 + z] : z;
    const zoom = () => (zlo === 1 && zhi === 1 ? 1 : rng.uniform(zlo, zhi));
    return {
      theta: sym(o.rotation_range),
      tx: shift(o.width_shift_range, width),
      ty: shift(o.height_shift_range, height),
      shear: sym(o.shear_range),
      zx: zoom(),
      zy: zoom(),
      flip: o.horizontal_flip ? rng.next() < 0.5 : false,
      channelShift: sym(o.channel_shift_range),
    };
  }

  /**
   * A randomly augmented copy of the batch `x` [n, h, w, c]; with `output`, resized to that size in the same resample
   * (the transforms drawn for the output's size, as if the images had been resized first).
   */
  random(x: tf.Tensor4D, output?: ImageSize): tf.Tensor4D {
    const [n, height, width] = x.shape;
    const size = output ?? { width, height };
    return applyTransforms(
      x,
      Array.from({ length: n }, () => this.randomParams(size.width, size.height)),
      this.options,
      output,
    );
  }
}
