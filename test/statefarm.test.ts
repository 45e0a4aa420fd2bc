import { describe, it, expect, beforeAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import { zipSync } from "fflate";
import { readStateFarm, makeSample, generateStateFarm, CLASSES } from "../lib/statefarm/index";

const tiny = { drivers: 5, imagesPerClass: 2, testImages: 3, width: 32, height: 24, seed: 7 };

function csvRows(dir: string): string[][] {
  return fs
    .readFileSync(path.join(dir, "driver_imgs_list.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","));
}

function treeHash(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d).sort()) {
      const f = path.join(d, e);
      if (fs.statSync(f).isDirectory()) walk(f);
      else h.update(path.relative(dir, f)).update(fs.readFileSync(f));
    }
  };
  walk(dir);
  return h.digest("hex");
}

const noOverlap = (data: { train: { driver: string }[]; valid: { driver: string }[] }) => {
  const t = new Set(data.train.map((x) => x.driver));
  return data.valid.every((x) => !t.has(x.driver));
};

describe("State Farm generator", () => {
  it("writes the Kaggle layout and is deterministic for a seed", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "sf-gen-"));
    const a = path.join(root, "a"),
      b = path.join(root, "b"),
      c = path.join(root, "c");
    await generateStateFarm(a, tiny);
    await generateStateFarm(b, tiny);
    await generateStateFarm(c, { ...tiny, seed: 8 });
    expect(fs.readdirSync(path.join(a, "imgs", "train")).sort()).toEqual([...CLASSES]);
    expect(csvRows(a)).toHaveLength(5 * 10 * 2);
    expect(fs.readdirSync(path.join(a, "imgs", "test"))).toHaveLength(3);
    expect(treeHash(a)).toBe(treeHash(b));
    expect(treeHash(a)).not.toBe(treeHash(c));
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe("readStateFarm", () => {
  let dir: string;
  let missing: string, extra: string, corrupt: string;
  beforeAll(async () => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sf-read-")), "statefarm");
    await generateStateFarm(dir, tiny);
    const rows = csvRows(dir);
    // A CSV row whose image is gone.
    missing = rows[0][2];
    fs.rmSync(path.join(dir, "imgs", "train", rows[0][1], missing));
    // An image on disk the CSV does not list.
    extra = "img_999001.jpg";
    fs.copyFileSync(
      path.join(dir, "imgs", "train", rows[1][1], rows[1][2]),
      path.join(dir, "imgs", "train", "c4", extra),
    );
    // A truncated JPEG.
    corrupt = rows[2][2];
    const cf = path.join(dir, "imgs", "train", rows[2][1], corrupt);
    fs.writeFileSync(cf, fs.readFileSync(cf).subarray(0, 100));
    // An unknown class folder with an image in it.
    fs.mkdirSync(path.join(dir, "imgs", "train", "c10"));
    fs.copyFileSync(
      path.join(dir, "imgs", "train", rows[3][1], rows[3][2]),
      path.join(dir, "imgs", "train", "c10", "img_999002.jpg"),
    );
  });

  it("reports each problem and skips those images", async () => {
    const data = await readStateFarm(dir, { log: false });
    expect(data.problems.missingImages.join()).toContain(missing);
    expect(data.problems.notInCsv.join()).toContain(extra);
    expect(data.problems.badImages.join()).toContain(corrupt);
    expect(data.problems.unknownClassFolders.join()).toContain("c10");
    expect(data.report).toMatch(/missing on disk: 1 \(/);
    expect(data.report).toContain(extra);
    const all = [...data.train, ...data.valid];
    expect(all).toHaveLength(100 - 2);
    expect(all.every((x) => x.label >= 0 && x.label < 10)).toBe(true);
    expect(
      all.some(
        (x) =>
          x.path.includes(`${path.sep}c10${path.sep}`) ||
          x.path.endsWith(extra) ||
          x.path.endsWith(corrupt),
      ),
    ).toBe(false);
    expect(data.classes).toEqual([...CLASSES]);
    expect(data.test).toHaveLength(3);
  });

  it("never puts a driver on both sides, for any seed or fraction", async () => {
    for (const seed of [1, 2, 3]) {
      for (const validFraction of [0.2, 0.5]) {
        const data = await readStateFarm(dir, { seed, validFraction, log: false });
        expect(noOverlap(data)).toBe(true);
        expect(data.valid.length).toBeGreaterThan(0);
        expect(data.train.length).toBeGreaterThan(0);
        expect([...data.drivers.train, ...data.drivers.valid].sort()).toEqual([
          "p002",
          "p005",
          "p008",
          "p011",
          "p014",
        ]);
      }
    }
    const chosen = await readStateFarm(dir, { validDrivers: ["p005", "p011"], log: false });
    expect(chosen.drivers.valid).toEqual(["p005", "p011"]);
    expect(new Set(chosen.valid.map((x) => x.driver))).toEqual(new Set(["p005", "p011"]));
    await expect(readStateFarm(dir, { validDrivers: ["p999"], log: false })).rejects.toThrow(
      /p999/,
    );
  });

  it("makeSample keeps the driver split and the sizes", async () => {
    const data = await readStateFarm(dir, { validDrivers: ["p005"], log: false });
    const sample = makeSample(data, { train: 15, valid: 10, seed: 3 });
    expect(sample.train).toHaveLength(15);
    expect(sample.valid).toHaveLength(10);
    expect(noOverlap(sample)).toBe(true);
    expect(sample.valid.every((x) => x.driver === "p005")).toBe(true);
    expect(makeSample(data, { train: 15, valid: 10, seed: 3 }).train).toEqual(sample.train);
  });

  it("reads the competition zip", async () => {
    const files: Record<string, Uint8Array> = {};
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d)) {
        const f = path.join(d, e);
        if (fs.statSync(f).isDirectory()) walk(f);
        else files[path.relative(dir, f).split(path.sep).join("/")] = fs.readFileSync(f);
      }
    };
    walk(dir);
    const zip = path.join(path.dirname(dir), "state-farm-distracted-driver-detection.zip");
    fs.writeFileSync(zip, zipSync(files));
    const data = await readStateFarm(zip, { log: false });
    expect(data.train.length + data.valid.length).toBe(98);
    expect(data.problems.badImages).toHaveLength(1);
  });

  it("fails clearly without the CSV", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "sf-empty-"));
    fs.mkdirSync(path.join(empty, "imgs", "train"), { recursive: true });
    await expect(readStateFarm(empty)).rejects.toThrow(/driver_imgs_list\.csv/);
  });
});
