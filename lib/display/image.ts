/**
 * Images (tensors, encoded bytes or files) as inline PNGs, encoded with sharp.
 */
import * as fs from "fs";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs";
import { show, escapeHtml, type MimeBundle } from "./show";

export interface ImageOptions {
  /** Scale to this width in pixels (keeps the aspect ratio; nearest-neighbour so pixels stay crisp). */
  width?: number;
  /** The value range of the tensor, mapped to 0..255 (default: [0,1] for floats with max <= 1, else [0,255]). */
  range?: [number, number];
  /** A caption under the image. */
  caption?: string;
}

/** Encodes an image tensor ([h,w], [h,w,1], [h,w,3] or [h,w,4]) as PNG bytes. */
export async function tensorToPng(image: tf.Tensor, options: ImageOptions = {}): Promise<Buffer> {
  if (image.rank !== 2 && image.rank !== 3)
    throw new Error(
      `An image tensor must be [height, width] or [height, width, channels]; got shape [${image.shape}].`,
    );
  const [height, width] = image.shape;
  const channels = image.rank === 2 ? 1 : image.shape[2]!;
  if (![1, 3, 4].includes(channels))
    throw new Error(`An image tensor needs 1, 3 or 4 channels; got ${channels}.`);
  const values = await image.data();
  let [lo, hi] = options.range ?? [0, 255];
  if (!options.range && image.dtype === "float32") {
    let max = -Infinity;
    for (const v of values) if (v > max) max = v;
    if (max <= 1) [lo, hi] = [0, 1];
  }
  const pixels = Buffer.alloc(values.length);
  const scale = 255 / (hi - lo || 1);
  for (let i = 0; i < values.length; i++)
    pixels[i] = Math.max(0, Math.min(255, Math.round((values[i] - lo) * scale)));
  let pipeline = sharp(pixels, { raw: { width, height, channels: channels as 1 | 3 | 4 } });
  if (options.width) pipeline = pipeline.resize({ width: options.width, kernel: "nearest" });
  return pipeline.png().toBuffer();
}

/** The MIME bundle of an image: PNG (base64) and a text description. */
export async function imageBundle(
  source: tf.Tensor | Uint8Array | string,
  options: ImageOptions = {},
): Promise<MimeBundle> {
  let png: Buffer;
  if (source instanceof tf.Tensor) png = await tensorToPng(source, options);
  else {
    const bytes = typeof source === "string" ? fs.readFileSync(source) : Buffer.from(source);
    let pipeline = sharp(bytes);
    if (options.width) pipeline = pipeline.resize({ width: options.width });
    png = await pipeline.png().toBuffer();
  }
  const meta = await sharp(png).metadata();
  const bundle: MimeBundle = {
    "image/png": png.toString("base64"),
    "text/plain": `<image ${meta.width}x${meta.height}${options.caption ? ` "${options.caption}"` : ""}>`,
  };
  if (options.caption) {
    bundle["text/html"] =
      `<figure style="display:inline-block;margin:4px"><img src="data:image/png;base64,${bundle["image/png"]}"/><figcaption style="text-align:center">${escapeHtml(options.caption)}</figcaption></figure>`;
  }
  return bundle;
}

/** Shows one image. */
export async function image(
  source: tf.Tensor | Uint8Array | string,
  options: ImageOptions = {},
): Promise<void> {
  show(await imageBundle(source, options));
}

/** Shows images side by side in a grid, each with an optional caption. */
export async function imageGrid(
  items: Array<{ image: tf.Tensor | Uint8Array | string; caption?: string }>,
  options: ImageOptions & { columns?: number } = {},
): Promise<void> {
  const cells: string[] = [];
  for (const item of items) {
    const bundle = await imageBundle(item.image, { ...options, caption: undefined });
    const caption = item.caption
      ? `<figcaption style="text-align:center;font-size:11px">${escapeHtml(item.caption)}</figcaption>`
      : "";
    cells.push(
      `<figure style="margin:2px"><img style="max-width:100%" src="data:image/png;base64,${bundle["image/png"]}"/>${caption}</figure>`,
    );
  }
  const columns = options.columns ?? Math.min(items.length, 5);
  show({
    "text/html": `<div class="lesson4-grid" style="display:grid;grid-template-columns:repeat(${columns},1fr);gap:4px">${cells.join("")}</div>`,
    "text/plain": `<${items.length} images>`,
  });
}
