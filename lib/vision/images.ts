/**
 * JPEG files to tfjs tensors: decode and resize with sharp, batch into [n, h, w, 3] tensors,
 * and stream batches so even the full 22k-photo set never sits in memory at once.
 */
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { Rng } from "./random";

/** Pixel scaling: "255" keeps 0-255 (Keras' default), "unit" gives 0-1, "symmetric" gives -1..1 (MobileNet). */
export type PixelScale = "255" | "unit" | "symmetric";

export interface LoadOptions {
  /** Output size in pixels; the photo is stretched to it (default 64 x 48). */
  width?: number;
  height?: number;
  scale?: PixelScale;
}

/** Decodes and resizes one image to RGB bytes (length width*height*3); the error names the file. */
export async function decodeImage(
  file: string,
  width: number,
  height: number,
): Promise<Uint8Array> {
  try {
    const { data } = await sharp(file, { failOn: "truncated" })
      .removeAlpha()
      .toColourspace("srgb")
      .resize(width, height, { fit: "fill" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (error) {
    throw new Error(`Could not decode image ${file}: ${(error as Error).message}`);
  }
}

/**
 * How much larger than the output each way a photo may be for imageBatches' `augment` to decode it at its own size
 * and resize it in the warp: up to 2x, a bilinear sample at each output pixel still draws on every source pixel (at
 * 2x it is a 2x2 average); larger photos are first resized by sharp (Lanczos), which also decodes them shrunk.
 */
export const WARP_RESIZE_LIMIT = 2;

/** A photo decoded to RGB bytes. */
export interface DecodedPhoto {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes one image to RGB bytes at its own size when that is at most WARP_RESIZE_LIMIT times width x height each
 * way, otherwise resized to width x height as decodeImage does; the error names the file.
 */
export async function decodeForWarp(
  file: string,
  width: number,
  height: number,
): Promise<DecodedPhoto> {
  try {
    const image = sharp(file, { failOn: "truncated" });
    const meta = await image.metadata();
    const own =
      (meta.width ?? Infinity) <= WARP_RESIZE_LIMIT * width &&
      (meta.height ?? Infinity) <= WARP_RESIZE_LIMIT * height;
    const pipeline = image.removeAlpha().toColourspace("srgb");
    if (!own) pipeline.resize(width, height, { fit: "fill" });
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    throw new Error(`Could not decode image ${file}: ${(error as Error).message}`);
  }
}

/** RGB bytes of `file` resized to width x height by sharp (for a photo whose size differs from the rest of its batch); the error names the file. */
async function resizePhoto(
  photo: DecodedPhoto,
  file: string,
  width: number,
  height: number,
): Promise<DecodedPhoto> {
  try {
    const data = await sharp(photo.data, {
      raw: { width: photo.width, height: photo.height, channels: 3 },
    })
      .resize(width, height, { fit: "fill" })
      .raw()
      .toBuffer();
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
  } catch (error) {
    throw new Error(`Could not resize image ${file}: ${(error as Error).message}`);
  }
}

function scaleValue(scale: PixelScale): [number, number] {
  return scale === "unit" ? [1 / 255, 0] : scale === "symmetric" ? [2 / 255, -1] : [1, 0];
}

/**
 * Decodes queued on sharp's threads at once. Enough for a batch to be queued whole, so decoding goes on while this
 * thread is busy elsewhere (augmenting the previous batch; with 4 queued, each next decode waited for this thread to
 * start it), and few enough that a whole data set loaded at once does not hold thousands of pending decodes.
 */
const DECODES_QUEUED = 64;

/** Runs `work(i)` for i < count, DECODES_QUEUED at a time (sharp decodes on its own threads meanwhile). */
async function queued(count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DECODES_QUEUED, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Loads `files` into one float tensor [n, height, width, 3], decoding DECODES_QUEUED at a time on sharp's threads. */
export async function loadImages(files: string[], options: LoadOptions = {}): Promise<tf.Tensor4D> {
  const width = options.width ?? 64,
    height = options.height ?? 48;
  const [mul, add] = scaleValue(options.scale ?? "255");
  const size = width * height * 3;
  const out = new Float32Array(files.length * size);
  // Byte -> float through a 256-entry table (the same float32 values as bytes[k] * mul + add); for 0-255 a typed
  // array copy converts natively, ~30x faster than a JS loop.
  const table =
    mul === 1 && add === 0 ? null : Float32Array.from({ length: 256 }, (_, v) => v * mul + add);
  await queued(files.length, async (i) => {
    const bytes = await decodeImage(files[i], width, height);
    if (!table) out.set(bytes, i * size);
    else for (let k = 0, o = i * size; k < size; k++, o++) out[o] = table[bytes[k]];
  });
  return tf.tensor4d(out, [files.length, height, width, 3]);
}

/**
 * Loads `files` for a warp that also resizes to width x height: one float tensor (0-255) at the photos' own size
 * where decodeForWarp kept it and every photo of the batch has the same, else every photo at width x height.
 */
export async function loadImagesForWarp(
  files: string[],
  width: number,
  height: number,
): Promise<tf.Tensor4D> {
  const photos: DecodedPhoto[] = new Array(files.length);
  await queued(files.length, async (i) => {
    photos[i] = await decodeForWarp(files[i], width, height);
  });
  const same = photos.every((p) => p.width === photos[0].width && p.height === photos[0].height);
  if (!same) {
    await queued(files.length, async (i) => {
      if (photos[i].width !== width || photos[i].height !== height)
        photos[i] = await resizePhoto(photos[i], files[i], width, height);
    });
  }
  const w = photos[0]?.width ?? width,
    h = photos[0]?.height ?? height,
    size = w * h * 3;
  const out = new Float32Array(files.length * size);
  photos.forEach((p, i) => out.set(p.data, i * size));
  return tf.tensor4d(out, [files.length, h, w, 3]);
}

/** One-hot labels [n, numClasses]. */
export function oneHot(labels: number[], numClasses = 10): tf.Tensor2D {
  return tf.tidy(
    () => tf.oneHot(tf.tensor1d(labels, "int32"), numClasses).toFloat() as tf.Tensor2D,
  );
}

export interface BatchOptions extends LoadOptions {
  batchSize?: number;
  /** Shuffle the order (seeded) before batching. */
  shuffle?: boolean;
  seed?: number;
  numClasses?: number;
  /** How many batches imageBatches decodes ahead of the one it yields (default 2). */
  prefetch?: number;
  /**
   * Random augmentation of each batch, drawn for width x height images (Keras' flow_from_directory with a generator).
   * Photos up to WARP_RESIZE_LIMIT times that size are decoded at their own size and resized in the augmentation's
   * warp, one bilinear resample instead of sharp's resize and then the warp's (the fast set's 160x120 photos: ~1.6 ms
   * less per photo); `scale` must then be "255" (the generator's channel shift is in 0-255 units).
   */
  augment?: { random(x: tf.Tensor4D, output?: { width: number; height: number }): tf.Tensor4D };
  /** Applied to each batch of images, after `augment` (e.g. scaling for a model). */
  transform?: (x: tf.Tensor4D) => tf.Tensor4D;
}

/** A batch of images, its one-hot labels when the items have labels, and the files it holds. */
export interface Batch {
  xs: tf.Tensor4D;
  ys?: tf.Tensor2D;
  files: string[];
}

/**
 * Streams `items` (file paths, or {path, label}) as batches; the caller disposes each batch.
 * The next `prefetch` batches are decoded (on sharp's threads) while this one is transformed (on this thread) and
 * used, so memory stays at a few batches and decoding never waits for the rest: with one batch ahead, sharp's threads
 * sat idle whenever transforming took longer than decoding.
 */
export async function* imageBatches(
  items: Array<string | { path: string; label: number }>,
  options: BatchOptions = {},
): AsyncGenerator<Batch> {
  const batchSize = options.batchSize ?? 32;
  const ahead = options.prefetch ?? 2;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a whole number >= 1, not ${batchSize}`);
  if (!Number.isInteger(ahead) || ahead < 1)
    throw new RangeError(`prefetch must be a whole number >= 1, not ${ahead}`);
  if (options.augment && (options.scale ?? "255") !== "255")
    throw new RangeError(
      `augment needs scale "255" (its channel shift is in 0-255 units), not "${options.scale}": scale in \`transform\` instead`,
    );
  const width = options.width ?? 64,
    height = options.height ?? 48;
  const list = options.shuffle ? new Rng(options.seed ?? 42).shuffle(items) : items;
  const decode = (start: number) => {
    const part = list.slice(start, start + batchSize);
    const files = part.map((it) => (typeof it === "string" ? it : it.path));
    const raw = options.augment
      ? loadImagesForWarp(files, width, height)
      : loadImages(files, options);
    raw.catch(() => undefined); // a failure surfaces when the batch is awaited, not as an unhandled rejection meanwhile
    return { part, files, raw };
  };
  const pending: Array<ReturnType<typeof decode>> = [];
  let queued = 0;
  const queue = () => {
    for (; pending.length < ahead && queued < list.length; queued += batchSize)
      pending.push(decode(queued));
  };
  queue();
  try {
    while (pending.length) {
      const { part, files, raw: decoding } = pending.shift()!;
      const raw = await decoding;
      queue();
      let xs = raw;
      try {
        xs = tf.tidy(() => {
          const augmented = options.augment ? options.augment.random(raw, { width, height }) : raw;
          return options.transform ? options.transform(augmented) : augmented;
        });
      } finally {
        if (xs !== raw) raw.dispose();
      }
      const labelled = part.every((it) => typeof it !== "string");
      yield {
        xs,
        ys: labelled
          ? oneHot(
              part.map((it) => (it as { label: number }).label),
              options.numClasses ?? 10,
            )
          : undefined,
        files,
      };
    }
  } finally {
    // Stopped early or failed: the batches still decoding are not wanted.
    for (const { raw } of pending)
      raw.then(
        (t) => t.dispose(),
        () => undefined,
      );
  }
}

/**
 * A tf.data.Dataset of {xs, ys} batches for model.fitDataset / evaluateDataset; each epoch
 * streams from disk again (reshuffled with seed + epoch when `shuffle`).
 */
export function imageDataset(
  items: Array<{ path: string; label: number }>,
  options: BatchOptions = {},
): tf.data.Dataset<{ xs: tf.Tensor4D; ys: tf.Tensor2D }> {
  let epoch = 0;
  return tf.data.generator(() => {
    const it = imageBatches(items, { ...options, seed: (options.seed ?? 42) + epoch++ });
    return {
      next: async () => {
        const r = await it.next();
        return r.done
          ? { done: true, value: null }
          : { done: false, value: { xs: r.value.xs, ys: r.value.ys! } };
      },
    } as unknown as Iterator<{ xs: tf.Tensor4D; ys: tf.Tensor2D }>;
  }) as unknown as tf.data.Dataset<{ xs: tf.Tensor4D; ys: tf.Tensor2D }>;
}
