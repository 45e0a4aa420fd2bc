/**
 * MNIST-sized hand-drawn-looking digits generated from strokes (seeded, no download), a real
 * 10-class task small enough for comparing optimizers in a notebook.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";

type Seg = [number, number, number, number];

// strokes in a unit box (x right, y down); seven-segment shapes with a few pen-like changes
const T: Seg = [0, 0, 1, 0];
const M: Seg = [0, 0.5, 1, 0.5];
const B: Seg = [0, 1, 1, 1];
const UL: Seg = [0, 0, 0, 0.5];
const UR: Seg = [1, 0, 1, 0.5];
const LL: Seg = [0, 0.5, 0, 1];
const LR: Seg = [1, 0.5, 1, 1];
const STROKES: Seg[][] = [
  [T, B, UL, UR, LL, LR],
  [
    [0.5, 0, 0.5, 1],
    [0.5, 0, 0.25, 0.2],
  ],
  [T, UR, M, LL, B],
  [T, UR, M, LR, B],
  [UL, M, [0.8, 0, 0.8, 1]],
  [T, UL, M, LR, B],
  [T, UL, LL, M, LR, B],
  [T, [1, 0, 0.35, 1]],
  [T, M, B, UL, UR, LL, LR],
  [T, UL, UR, M, LR, B],
];

/** A generated digit set: `images` holds count x size x size values in [0, 1], row-major. */
export interface DigitSet {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  size: number;
}

function distToSegment(px: number, py: number, [x1, y1, x2, y2]: Seg): number {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len2 = dx * dx + dy * dy;
  const u = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / len2));
  return Math.hypot(px - (x1 + u * dx), py - (y1 + u * dy));
}

/**
 * `count` digits (labels cycle 0-9, then shuffled with the seed), each drawn with random size,
 * position, slant, stroke width, wobbly stroke ends and pixel noise.
 */
export function generateDigits(options: {
  count: number;
  seed: number;
  size?: number;
  noise?: number;
}): DigitSet {
  const { count, seed } = options;
  const size = options.size ?? 28;
  const noise = options.noise ?? 0.05;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`count must be a whole number >= 1, not ${count}.`);
  if (!Number.isInteger(size) || size < 8)
    throw new Error(`size must be a whole number of pixels >= 8, not ${size}.`);
  const rng = new Rng(seed);
  const labels = Int32Array.from(rng.shuffle(Array.from({ length: count }, (_, i) => i % 10)));
  const images = new Float32Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const w = rng.uniform(0.3, 0.45) * size;
    const h = rng.uniform(0.55, 0.7) * size;
    const cx = size / 2 + rng.uniform(-0.1, 0.1) * size;
    const cy = size / 2 + rng.uniform(-0.08, 0.08) * size;
    const slant = rng.uniform(-0.3, 0.3);
    const half = rng.uniform(0.6, 1.3);
    const segs = STROKES[labels[n]].map((s) => {
      const j = () => rng.uniform(-0.06, 0.06);
      const pts = [s[0] + j(), s[1] + j(), s[2] + j(), s[3] + j()];
      const map = (x: number, y: number): [number, number] => [
        cx + (x - 0.5) * w - (y - 0.5) * h * slant,
        cy + (y - 0.5) * h,
      ];
      return [...map(pts[0], pts[1]), ...map(pts[2], pts[3])] as Seg;
    });
    const base = n * size * size;
    for (let py = 0; py < size; py++) {
      for (let px = 0; px < size; px++) {
        let d = Infinity;
        for (const s of segs) d = Math.min(d, distToSegment(px + 0.5, py + 0.5, s));
        const ink = Math.max(0, Math.min(1, 1 - (d - half)));
        images[base + py * size + px] = Math.max(0, Math.min(1, ink + noise * rng.normal()));
      }
    }
  }
  return { images, labels, count, size };
}

/** The set as tensors for a Keras-style model: x [count, size*size], y one-hot [count, 10]. */
export function digitTensors(set: DigitSet): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => ({
    x: tf.tensor2d(set.images, [set.count, set.size * set.size]),
    y: tf.oneHot(tf.tensor1d(set.labels, "int32"), 10).toFloat() as tf.Tensor2D,
  }));
}
