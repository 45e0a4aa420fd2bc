/**
 * A State Farm-like data set drawn procedurally (cabin, driver, pose, objects, noise) in the
 * Kaggle layout, so the lesson runs without a Kaggle account and shows the same effects:
 * drivers are easy to memorise, the behaviour is a pose that moves with the camera.
 */
import * as fs from "fs";
import * as path from "path";
import sharp from "sharp";
import { Canvas, type Rgb } from "./draw";
import { CLASSES } from "./classes";
import { Rng } from "../random";

export interface GenerateOptions {
  /** Number of drivers in the labelled set (default 8). */
  drivers?: number;
  /** Photos per driver and class (default 8). */
  imagesPerClass?: number;
  /** Unlabelled photos in imgs/test, of other drivers (default 64). */
  testImages?: number;
  /** Photo size in pixels (default 160 x 120; the real photos are 640 x 480). */
  width?: number;
  height?: number;
  /** Seed for everything (default 42). */
  seed?: number;
  /** JPEG quality 1-100 (default 85). */
  quality?: number;
  /** Standard deviation of the per-pixel noise, in 0-255 units (default 6). */
  noise?: number;
}

/** How a driver looks and where their camera sits: what a model can memorise. */
export interface DriverLook {
  id: string;
  skin: Rgb;
  shirt: Rgb;
  hair: Rgb;
  seat: number;
  headSize: number;
  camX: number;
  camY: number;
  camScale: number;
  gain: number;
  ramp: number;
  tint: Rgb;
  interior: Rgb;
}

const SKINS: Rgb[] = [
  [241, 194, 160],
  [224, 172, 125],
  [198, 134, 90],
  [141, 85, 56],
  [95, 60, 40],
  [232, 190, 172],
];

function hueColor(rng: Rng): Rgb {
  const h = rng.next() * 6,
    s = rng.uniform(0.35, 0.9),
    v = rng.uniform(70, 230);
  const f = h - Math.floor(h),
    p = v * (1 - s),
    q = v * (1 - s * f),
    t = v * (1 - s * (1 - f));
  const k = Math.floor(h) % 6;
  const rgb: Rgb[] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  return rgb[k];
}

/** Kaggle-style driver ids: p002, p012, ... */
export function driverId(i: number): string {
  return `p${String(2 + 3 * i).padStart(3, "0")}`;
}

/** A random driver appearance and camera set-up. */
export function randomDriver(id: string, rng: Rng): DriverLook {
  const grey = rng.uniform(60, 120);
  return {
    id,
    skin: rng.pick(SKINS),
    shirt: hueColor(rng),
    hair: rng.pick<Rgb>([
      [20, 15, 10],
      [70, 45, 20],
      [150, 110, 60],
      [200, 180, 120],
      [120, 120, 120],
      [40, 30, 30],
    ]),
    seat: rng.uniform(-0.05, 0.05),
    headSize: rng.uniform(0.9, 1.12),
    camX: rng.uniform(-0.09, 0.09),
    camY: rng.uniform(-0.07, 0.07),
    camScale: rng.uniform(0.88, 1.12),
    gain: rng.uniform(0.7, 1.2),
    ramp: rng.uniform(-0.5, 0.5),
    tint: [rng.uniform(-15, 15), rng.uniform(-15, 15), rng.uniform(-15, 15)],
    interior: [
      grey + rng.uniform(-10, 10),
      grey + rng.uniform(-10, 10),
      grey + rng.uniform(-10, 10),
    ],
  };
}

type Head = "forward" | "down" | "right";
interface Pose {
  near: [number, number];
  far: [number, number];
  head: Head;
  object?: { kind: "phone" | "cup"; hand: "near" | "far" };
}

const WHEEL_NEAR: [number, number] = [0.26, 0.5];
const WHEEL_FAR: [number, number] = [0.2, 0.63];

/** The pose that defines each class, in scene coordinates (0-1 across and down). */
export function classPose(label: number): Pose {
  switch (label) {
    case 0:
      return { near: WHEEL_NEAR, far: WHEEL_FAR, head: "forward" };
    case 1:
      return {
        near: [0.44, 0.64],
        far: WHEEL_FAR,
        head: "down",
        object: { kind: "phone", hand: "near" },
      };
    case 2:
      return {
        near: [0.57, 0.37],
        far: WHEEL_FAR,
        head: "forward",
        object: { kind: "phone", hand: "near" },
      };
    case 3:
      return {
        near: WHEEL_NEAR,
        far: [0.4, 0.66],
        head: "down",
        object: { kind: "phone", hand: "far" },
      };
    case 4:
      return {
        near: WHEEL_NEAR,
        far: [0.46, 0.36],
        head: "forward",
        object: { kind: "phone", hand: "far" },
      };
    case 5:
      return { near: [0.77, 0.73], far: WHEEL_FAR, head: "down" };
    case 6:
      return {
        near: [0.45, 0.43],
        far: WHEEL_FAR,
        head: "forward",
        object: { kind: "cup", hand: "near" },
      };
    case 7:
      return { near: [0.88, 0.3], far: WHEEL_FAR, head: "right" };
    case 8:
      return { near: [0.56, 0.22], far: [0.47, 0.27], head: "forward" };
    case 9:
      return { near: WHEEL_NEAR, far: WHEEL_FAR, head: "right" };
    default:
      throw new Error(`No pose for class ${label}`);
  }
}

/**
 * Draws one photo of `driver` doing behaviour `label`. `jitter` moves the hands and head a
 * little (frames of one video differ slightly); returns raw RGB bytes.
 */
export function renderPhoto(
  driver: DriverLook,
  label: number,
  width: number,
  height: number,
  rng: Rng,
  noise = 6,
): Buffer {
  const c = new Canvas(width, height, driver.interior);
  const s = driver.camScale;
  const X = (u: number) => width * (0.5 + driver.camX + s * (u - 0.5));
  const Y = (v: number) => height * (0.5 + driver.camY + s * (v - 0.5));
  const L = (d: number) => d * s * width;
  const pose = classPose(label);
  const j = () => rng.normal() * 0.012;

  // Cabin: side window, rear window, dashboard, console with radio, seat.
  c.rect(X(-0.2), Y(0.0), L(0.62), L(0.3), [205, 215, 225]);
  c.rect(X(0.76), Y(0.02), L(0.4), L(0.22), [185, 195, 205]);
  c.rect(X(-0.2), Y(0.66), L(0.5), L(0.5), [40, 40, 45]);
  c.rect(X(0.7), Y(0.68), L(0.18), L(0.12), [35, 35, 35]);
  c.rect(X(0.72), Y(0.7), L(0.08), L(0.03), [60, 200, 120]);
  c.ring(X(0.22), Y(0.57), L(0.05), L(0.13), L(0.018), [25, 25, 25]);
  const sx = 0.06 + driver.seat;
  c.rect(X(0.46 + sx), Y(0.2), L(0.2), L(0.9), [30, 30, 35]);
  c.ellipse(X(0.56 + sx), Y(0.2), L(0.08), L(0.06), [35, 35, 40]);

  // Driver: torso, far arm, head, near arm (drawn last, it is closest to the camera).
  const hx = 0.53 + driver.seat + j() / 2,
    hy = 0.33 + j() / 2 + (pose.head === "down" ? 0.04 : 0);
  const hr = 0.065 * driver.headSize;
  c.ellipse(X(0.55 + driver.seat), Y(0.75), L(0.12), L(0.22), driver.shirt);
  const arm = (shoulder: [number, number], hand: [number, number], color: Rgb) => {
    const hand2: [number, number] = [hand[0] + j(), hand[1] + j()];
    const elbow: [number, number] = [
      (shoulder[0] + hand2[0]) / 2 + 0.02,
      Math.max(shoulder[1], hand2[1]) + 0.1,
    ];
    c.line(X(shoulder[0]), Y(shoulder[1]), X(elbow[0]), Y(elbow[1]), L(0.05), color);
    c.line(X(elbow[0]), Y(elbow[1]), X(hand2[0]), Y(hand2[1]), L(0.04), color);
    c.ellipse(X(hand2[0]), Y(hand2[1]), L(0.022), L(0.022), driver.skin);
    return hand2;
  };
  const darker = driver.shirt.map((v) => v * 0.75) as unknown as Rgb;
  const farHand = arm([0.5 + driver.seat, 0.5], pose.far, darker);
  c.ellipse(X(hx + 0.005), Y(hy + 0.09), L(0.03), L(0.05), driver.skin);
  c.ellipse(X(hx), Y(hy), L(hr * 0.9), L(hr * 1.15), driver.skin);
  // Hair sits at the back of the head: behind it when facing forward, on top when facing the camera.
  const back = pose.head === "right" ? -0.3 : 0.35;
  c.ellipse(X(hx + back * hr), Y(hy - hr * 0.45), L(hr * 0.85), L(hr * 0.7), driver.hair);
  if (pose.head === "right") {
    c.ellipse(X(hx - 0.02), Y(hy - 0.005), L(0.008), L(0.008), [20, 20, 20]);
    c.ellipse(X(hx + 0.02), Y(hy - 0.005), L(0.008), L(0.008), [20, 20, 20]);
    c.line(X(hx - 0.015), Y(hy + 0.04), X(hx + 0.015), Y(hy + 0.04), L(0.008), [120, 40, 40]);
  } else {
    const dy = pose.head === "down" ? 0.02 : 0;
    c.ellipse(X(hx - hr * 0.6), Y(hy - 0.01 + dy), L(0.008), L(0.008), [20, 20, 20]);
  }
  const nearHand = arm([0.58 + driver.seat, 0.52], pose.near, driver.shirt);
  if (pose.object) {
    const [ox, oy] = pose.object.hand === "near" ? nearHand : farHand;
    if (pose.object.kind === "phone")
      c.rect(X(ox - 0.015), Y(oy - 0.035), L(0.03), L(0.05), [15, 15, 20]);
    else {
      c.rect(X(ox - 0.02), Y(oy - 0.05), L(0.04), L(0.07), [230, 230, 235]);
      c.rect(X(ox - 0.02), Y(oy - 0.02), L(0.04), L(0.015), [190, 40, 30]);
    }
  }
  c.light(driver.gain, driver.ramp, driver.tint);
  return c.toBytes(noise, () => rng.normal());
}

/** One labelled photo in the generated set. */
export interface GeneratedImage {
  img: string;
  driver: string;
  classname: string;
}

async function mapLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/**
 * Writes a synthetic data set into `dir` in the Kaggle layout: imgs/train/c0..c9/*.jpg,
 * imgs/test/*.jpg, driver_imgs_list.csv, plus synthetic.json with the options used.
 * Deterministic for a seed. `dir` must not exist yet or be empty.
 */
export async function generateStateFarm(
  dir: string,
  options: GenerateOptions = {},
): Promise<{ train: GeneratedImage[]; test: string[] }> {
  const o = {
    drivers: 8,
    imagesPerClass: 8,
    testImages: 64,
    width: 160,
    height: 120,
    seed: 42,
    quality: 85,
    noise: 6,
    ...options,
  };
  const rng = new Rng(o.seed);
  const drivers = Array.from({ length: o.drivers }, (_, i) =>
    randomDriver(driverId(i), new Rng(`${o.seed}/driver/${i}`)),
  );
  const testDrivers = Array.from({ length: Math.max(1, Math.ceil(o.drivers / 3)) }, (_, i) =>
    randomDriver(`t${i}`, new Rng(`${o.seed}/testdriver/${i}`)),
  );
  const total = o.drivers * CLASSES.length * o.imagesPerClass + o.testImages;
  const ids = rng.shuffle(Array.from({ length: total }, (_, i) => i + 1));
  const jobs: Array<{
    file: string;
    driver: DriverLook;
    label: number;
    seed: string;
    entry?: GeneratedImage;
  }> = [];
  let k = 0;
  for (const d of drivers) {
    for (let label = 0; label < CLASSES.length; label++) {
      for (let n = 0; n < o.imagesPerClass; n++) {
        const img = `img_${ids[k++]}.jpg`;
        jobs.push({
          file: path.join(dir, "imgs", "train", CLASSES[label], img),
          driver: d,
          label,
          seed: `${o.seed}/${d.id}/${label}/${n}`,
          entry: { img, driver: d.id, classname: CLASSES[label] },
        });
      }
    }
  }
  const test: string[] = [];
  for (let n = 0; n < o.testImages; n++) {
    const img = `img_${ids[k++]}.jpg`;
    test.push(img);
    jobs.push({
      file: path.join(dir, "imgs", "test", img),
      driver: testDrivers[n % testDrivers.length],
      label: rng.int(0, 9),
      seed: `${o.seed}/test/${n}`,
    });
  }
  for (const cls of CLASSES)
    fs.mkdirSync(path.join(dir, "imgs", "train", cls), { recursive: true });
  fs.mkdirSync(path.join(dir, "imgs", "test"), { recursive: true });
  await mapLimit(jobs, 4, async (job) => {
    const raw = renderPhoto(job.driver, job.label, o.width, o.height, new Rng(job.seed), o.noise);
    await sharp(raw, { raw: { width: o.width, height: o.height, channels: 3 } })
      .jpeg({ quality: o.quality })
      .toFile(job.file);
  });
  const train = jobs.filter((j) => j.entry).map((j) => j.entry!);
  const csv =
    ["subject,classname,img", ...train.map((e) => `${e.driver},${e.classname},${e.img}`)].join(
      "\n",
    ) + "\n";
  fs.writeFileSync(path.join(dir, "driver_imgs_list.csv"), csv);
  fs.writeFileSync(
    path.join(dir, "synthetic.json"),
    JSON.stringify({ generator: "lesson4-ts synthetic State Farm", ...o }, null, 2) + "\n",
  );
  return { train, test };
}
