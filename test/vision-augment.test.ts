import { describe, it, expect, beforeAll } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/engine/backend";
import {
  applyTransforms,
  ImageDataGenerator,
  IDENTITY,
  type TransformParams,
} from "../lib/vision/augment";

const W = 33,
  H = 21,
  CX = 16,
  CY = 10;

/** A black image with one bright marker at (x, y). */
function marker(x: number, y: number): tf.Tensor4D {
  const data = new Float32Array(W * H * 3);
  data.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
  return tf.tensor4d(data, [1, H, W, 3]);
}

function where(img: tf.Tensor4D): [number, number] {
  const flat = img.slice([0, 0, 0, 0], [1, H, W, 1]).reshape([H * W]);
  const i = flat.argMax().dataSync()[0];
  return [i % W, Math.floor(i / W)];
}

function moved(p: Partial<TransformParams>, from: [number, number]): [number, number] {
  const out = applyTransforms(marker(...from), [{ ...IDENTITY, ...p }], {
    fill_mode: "constant",
    cval: 0,
  });
  return where(out);
}

beforeAll(async () => {
  await initBackend();
});

describe("augmentation moves a marker pixel where the parameter says", () => {
  it("identity leaves it", () => expect(moved({}, [20, 10])).toEqual([20, 10]));
  it("width shift: +tx moves right", () => expect(moved({ tx: 3 }, [20, 10])).toEqual([23, 10]));
  it("height shift: +ty moves down", () => expect(moved({ ty: 2 }, [20, 10])).toEqual([20, 12]));
  it("rotation: +90 degrees turns counter-clockwise about the centre", () => {
    expect(moved({ theta: 90 }, [CX + 4, CY])).toEqual([CX, CY - 4]);
    expect(moved({ theta: -90 }, [CX + 4, CY])).toEqual([CX, CY + 4]);
  });
  it("shear: a point below the centre moves right by d*tan(shear)", () => {
    expect(moved({ shear: Math.atan(0.5) }, [CX, CY + 4])).toEqual([CX + 2, CY + 4]);
    expect(moved({ shear: Math.atan(0.5) }, [CX + 4, CY])).toEqual([CX + 4, CY]);
  });
  it("zoom: zx=2 halves distances across, zy=0.5 doubles them down", () => {
    expect(moved({ zx: 2 }, [CX + 8, CY])).toEqual([CX + 4, CY]);
    expect(moved({ zy: 0.5 }, [CX, CY + 3])).toEqual([CX, CY + 6]);
  });
  it("horizontal flip mirrors about the centre column", () =>
    expect(moved({ flip: true }, [20, 7])).toEqual([12, 7]));
  it("channel shift adds to every channel, clipped to the image's range", () => {
    const img = tf.tensor4d([0, 50, 100, 10, 20, 30], [1, 1, 2, 3]);
    const out = applyTransforms(img, [{ ...IDENTITY, channelShift: 30 }]);
    expect(Array.from(out.dataSync())).toEqual([30, 80, 100, 40, 50, 60]);
  });
});

describe("ImageDataGenerator", () => {
  it("draws shifts within width_shift_range and repeats for a seed", () => {
    const g = new ImageDataGenerator({ width_shift_range: 0.2, seed: 5 });
    const xs = Array.from({ length: 200 }, () => g.randomParams(W, H).tx);
    expect(Math.max(...xs.map(Math.abs))).toBeLessThanOrEqual(0.2 * W);
    expect(Math.max(...xs)).toBeGreaterThan(0.15 * W);
    expect(Math.min(...xs)).toBeLessThan(-0.15 * W);
    const again = new ImageDataGenerator({ width_shift_range: 0.2, seed: 5 });
    expect(Array.from({ length: 200 }, () => again.randomParams(W, H).tx)).toEqual(xs);
    expect(new ImageDataGenerator({ seed: 5 }).randomParams(W, H)).toEqual(IDENTITY);
  });
  it("random() moves the marker of each image by its own drawn shift", () => {
    const g = new ImageDataGenerator({
      width_shift_range: 5,
      height_shift_range: 3,
      fill_mode: "constant",
      seed: 9,
    });
    const batch = tf.concat([marker(16, 10), marker(16, 10), marker(16, 10)]) as tf.Tensor4D;
    const out = g.random(batch);
    const ref = new ImageDataGenerator({ width_shift_range: 5, height_shift_range: 3, seed: 9 });
    for (let i = 0; i < 3; i++) {
      const p = ref.randomParams(W, H);
      const one = out.slice([i, 0, 0, 0], [1, H, W, 3]) as tf.Tensor4D;
      // bilinear: the brightest pixel is the nearest one to the shifted position
      const [x, y] = where(one);
      expect(Math.abs(x - (16 + p.tx))).toBeLessThanOrEqual(0.5);
      expect(Math.abs(y - (10 + p.ty))).toBeLessThanOrEqual(0.5);
    }
  });
});

describe("augmentation that also resizes (the warp resamples from the photo's own size)", () => {
  /** [1, h, w, 3] with value a*x + b*y + c in channel c at pixel (x, y): bilinear resampling reproduces it exactly. */
  function ramp(w: number, h: number, a: number, b: number): tf.Tensor4D {
    const data = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = a * x + b * y + 10 * c;
    return tf.tensor4d(data, [1, h, w, 3]);
  }

  it("with no transform it is a bilinear resize, pixel centres on pixel centres (tf.image.resizeBilinear with half-pixel centres)", () => {
    const x = tf.randomUniform([2, 12, 16, 3], 0, 255, "float32", 3) as tf.Tensor4D;
    for (const [w, h] of [
      [29, 23],
      [16, 12],
      [9, 7],
    ]) {
      const ours = applyTransforms(x, [IDENTITY, IDENTITY], {}, { width: w, height: h });
      const resized = tf.image.resizeBilinear(x, [h, w], false, true);
      expect(ours.shape).toEqual([2, h, w, 3]);
      expect(tf.max(tf.abs(ours.sub(resized))).dataSync()[0]).toBeLessThan(1e-3);
    }
  });

  it("a transform drawn for the output size lands where resizing first and then transforming puts it", () => {
    const p: TransformParams = { ...IDENTITY, theta: 9, tx: 3, ty: -2, shear: 0.08, zx: 1.1 };
    const small = ramp(40, 30, 1.5, -2);
    const once = applyTransforms(small, [p], {}, { width: 64, height: 48 });
    const twice = applyTransforms(tf.image.resizeBilinear(small, [48, 64], false, true), [p]);
    // away from the borders (where each clamps to its own edge) both are the ramp at the same source point
    const inner = (t: tf.Tensor4D) => t.slice([0, 14, 18, 0], [1, 20, 28, 3]);
    expect(tf.max(tf.abs(inner(once).sub(inner(twice)))).dataSync()[0]).toBeLessThan(1e-2);
    // and not the same as the transform drawn for the photo's own size
    const wrongSize = applyTransforms(
      tf.image.resizeBilinear(applyTransforms(small, [p]), [48, 64], false, true),
      [IDENTITY],
    );
    expect(tf.max(tf.abs(inner(once).sub(inner(wrongSize)))).dataSync()[0]).toBeGreaterThan(1);
  });

  it("random(x, output) draws each image's transform for the output's size and matches applyTransforms with those", () => {
    const options = {
      rotation_range: 15,
      width_shift_range: 0.1,
      height_shift_range: 0.05,
      shear_range: 0.1,
      channel_shift_range: 20,
      seed: 4,
    };
    const x = tf.randomUniform([3, 30, 40, 3], 0, 255, "float32", 8) as tf.Tensor4D;
    const out = new ImageDataGenerator(options).random(x, { width: 56, height: 42 });
    const ref = new ImageDataGenerator(options);
    const params = [0, 1, 2].map(() => ref.randomParams(56, 42));
    expect(out.shape).toEqual([3, 42, 56, 3]);
    expect(Array.from(out.dataSync())).toEqual(
      Array.from(
        applyTransforms(x, params, { fill_mode: "nearest" }, { width: 56, height: 42 }).dataSync(),
      ),
    );
    expect(() => applyTransforms(x, params, {}, { width: 0, height: 4 })).toThrow(
      /whole numbers >= 1/,
    );
  });
});
