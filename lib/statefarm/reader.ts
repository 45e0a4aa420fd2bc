/**
 * Reads the Kaggle State Farm layout (imgs/train/c0..c9, imgs/test, driver_imgs_list.csv),
 * checks it and splits train/valid by driver, so validation never sees a training driver.
 */
import * as fs from "fs";
import * as path from "path";
import Papa from "papaparse";
import { CLASSES } from "./classes";
import { Rng } from "../random";
import { extractZip } from "./zip";

/** One labelled photo. */
export interface LabelledImage {
  path: string;
  /** Class index 0-9 (c0..c9). */
  label: number;
  driver: string;
}

/** What was wrong with the folder; every list holds file names, at most all of them. */
export interface StateFarmProblems {
  /** Expected folders or files that do not exist (e.g. imgs/train/c3). */
  missingFolders: string[];
  /** Folders under imgs/train that are not c0..c9; their images are skipped, never made a class. */
  unknownClassFolders: string[];
  /** Images on disk that driver_imgs_list.csv does not list (skipped: no driver known). */
  notInCsv: string[];
  /** CSV rows whose image file is missing. */
  missingImages: string[];
  /** Images in a different class folder than the CSV says (skipped). */
  classMismatch: string[];
  /** Files that are not complete JPEGs (bad start or end marker, or failed decode). */
  badImages: string[];
  /** CSV rows that could not be read (wrong columns or unknown class). */
  badCsvRows: string[];
}

/** The data set, split by driver. */
export interface StateFarmData {
  train: LabelledImage[];
  valid: LabelledImage[];
  /** Unlabelled test photos (paths). */
  test: string[];
  /** Class folder names in label order. */
  classes: string[];
  /** Driver ids on each side of the split. */
  drivers: { train: string[]; valid: string[] };
  problems: StateFarmProblems;
  /** A readable account of the problems ("" when none). */
  report: string;
  /** The folder that was read. */
  dir: string;
}

export interface ReadOptions {
  /** Drivers to put in the validation set; default: chosen at random until validFraction is reached. */
  validDrivers?: string[];
  /** Share of labelled images for validation when validDrivers is not given (default 0.2). */
  validFraction?: number;
  /** Seed for choosing validation drivers (default 42). */
  seed?: number;
  /** How to check JPEGs: "markers" (start/end bytes, fast, default), "none". */
  verify?: "markers" | "none";
  /** Print the report when there are problems (default true). */
  log?: boolean;
}

/** Why reading failed outright (nothing usable). */
export class StateFarmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateFarmError";
  }
}

/** True when `file` starts with the JPEG start marker and ends with the end marker. */
export function looksLikeCompleteJpeg(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    if (size < 4) return false;
    const head = Buffer.alloc(3);
    fs.readSync(fd, head, 0, 3, 0);
    // Some encoders pad after the end marker: look for FF D9 in the last 32 bytes.
    const tailLen = Math.min(32, size);
    const end = Buffer.alloc(tailLen);
    fs.readSync(fd, end, 0, tailLen, size - tailLen);
    const hasEnd = end.includes(Buffer.from([0xff, 0xd9]));
    return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff && hasEnd;
  } catch {
    return false;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

const isImage = (name: string) => /\.jpe?g$/i.test(name);

function listImages(folder: string): string[] {
  return fs.readdirSync(folder).filter(isImage).sort();
}

/** Formats a list as "N (first, second, ...)" for reports. */
function few(items: string[], n = 5): string {
  return `${items.length} (${items.slice(0, n).join(", ")}${items.length > n ? ", ..." : ""})`;
}

/** A readable report of `problems`, "" when there are none. */
export function formatProblems(problems: StateFarmProblems): string {
  const lines: string[] = [];
  const add = (list: string[], what: string) => {
    if (list.length) lines.push(`- ${what}: ${few(list)}`);
  };
  add(problems.missingFolders, "missing folders/files");
  add(
    problems.unknownClassFolders,
    "unknown class folders under imgs/train (their images skipped)",
  );
  add(problems.notInCsv, "images not listed in driver_imgs_list.csv (skipped)");
  add(problems.missingImages, "images listed in driver_imgs_list.csv but missing on disk");
  add(problems.classMismatch, "images in a different class folder than the CSV says (skipped)");
  add(problems.badImages, "unreadable or truncated JPEGs (skipped)");
  add(problems.badCsvRows, "unreadable rows of driver_imgs_list.csv");
  return lines.length ? `State Farm data problems:\n${lines.join("\n")}` : "";
}

/** Finds the folder holding imgs/ inside `dir` (it may be one level down, as some unzips do). */
function findRoot(dir: string): string {
  if (fs.existsSync(path.join(dir, "imgs"))) return dir;
  for (const sub of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const candidate = path.join(dir, sub);
    if (fs.statSync(candidate).isDirectory() && fs.existsSync(path.join(candidate, "imgs")))
      return candidate;
  }
  return dir;
}

/**
 * Reads State Farm data from a folder in the Kaggle layout or from the competition zip
 * (extracted once next to it). Skipped images are listed in `problems`/`report`.
 */
export async function readStateFarm(
  dirOrZip: string,
  options: ReadOptions = {},
): Promise<StateFarmData> {
  let dir = dirOrZip;
  if (/\.zip$/i.test(dirOrZip) && fs.statSync(dirOrZip).isFile()) dir = await extractZip(dirOrZip);
  if (!fs.existsSync(dir)) throw new StateFarmError(`State Farm folder ${dir} does not exist.`);
  dir = findRoot(dir);
  const problems: StateFarmProblems = {
    missingFolders: [],
    unknownClassFolders: [],
    notInCsv: [],
    missingImages: [],
    classMismatch: [],
    badImages: [],
    badCsvRows: [],
  };
  const verify = options.verify ?? "markers";
  const trainDir = path.join(dir, "imgs", "train");
  const testDir = path.join(dir, "imgs", "test");
  const csvFile = path.join(dir, "driver_imgs_list.csv");
  if (!fs.existsSync(trainDir))
    throw new StateFarmError(
      `${dir} has no imgs/train folder: expected the Kaggle layout imgs/train/c0..c9/*.jpg, imgs/test/*.jpg, driver_imgs_list.csv.`,
    );
  if (!fs.existsSync(csvFile))
    throw new StateFarmError(
      `${dir} has no driver_imgs_list.csv: without it the drivers are unknown and no driver split is possible.`,
    );

  // Images on disk, by class folder.
  const onDisk = new Map<string, { cls: number; file: string }>(); // image name -> where it is
  for (const entry of fs.readdirSync(trainDir).sort()) {
    const full = path.join(trainDir, entry);
    if (!fs.statSync(full).isDirectory()) continue;
    const cls = (CLASSES as readonly string[]).indexOf(entry);
    if (cls < 0) {
      problems.unknownClassFolders.push(`imgs/train/${entry} (${listImages(full).length} images)`);
      continue;
    }
    for (const img of listImages(full)) onDisk.set(img, { cls, file: full + path.sep + img });
  }
  for (const cls of CLASSES)
    if (!fs.existsSync(path.join(trainDir, cls))) problems.missingFolders.push(`imgs/train/${cls}`);
  if (!fs.existsSync(testDir)) problems.missingFolders.push("imgs/test");

  // The CSV: subject, classname, img.
  const parsed = Papa.parse<Record<string, string>>(fs.readFileSync(csvFile, "utf8"), {
    header: true,
    skipEmptyLines: true,
  });
  const listed = new Set<string>();
  const items: LabelledImage[] = [];
  for (const [i, row] of parsed.data.entries()) {
    const subject = row.subject?.trim(),
      classname = row.classname?.trim(),
      img = row.img?.trim();
    const cls = (CLASSES as readonly string[]).indexOf(classname ?? "");
    if (!subject || !img || cls < 0) {
      problems.badCsvRows.push(`row ${i + 2}: ${JSON.stringify(row)}`);
      continue;
    }
    listed.add(img);
    const found = onDisk.get(img);
    if (!found) {
      problems.missingImages.push(`${classname}/${img}`);
      continue;
    }
    if (found.cls !== cls) {
      problems.classMismatch.push(`${img} (CSV: ${classname}, folder: ${CLASSES[found.cls]})`);
      continue;
    }
    if (verify === "markers" && !looksLikeCompleteJpeg(found.file)) {
      problems.badImages.push(`${classname}/${img}`);
      continue;
    }
    items.push({ path: found.file, label: cls, driver: subject });
  }
  for (const [img, where] of onDisk)
    if (!listed.has(img)) problems.notInCsv.push(`${CLASSES[where.cls]}/${img}`);

  let test: string[] = [];
  if (fs.existsSync(testDir)) {
    for (const img of listImages(testDir)) {
      const file = path.join(testDir, img);
      if (verify === "markers" && !looksLikeCompleteJpeg(file))
        problems.badImages.push(`test/${img}`);
      else test.push(file);
    }
  }
  if (items.length === 0)
    throw new StateFarmError(`No usable labelled images in ${dir}.\n${formatProblems(problems)}`);

  const { train, valid, drivers } = splitByDriver(items, options);
  const report = formatProblems(problems);
  if (report && options.log !== false) console.warn(report);
  return { train, valid, test, classes: [...CLASSES], drivers, problems, report, dir };
}

/** Splits images so each driver is on exactly one side. */
export function splitByDriver(
  items: LabelledImage[],
  options: Pick<ReadOptions, "validDrivers" | "validFraction" | "seed"> = {},
): {
  train: LabelledImage[];
  valid: LabelledImage[];
  drivers: { train: string[]; valid: string[] };
} {
  const counts = new Map<string, number>();
  for (const it of items) counts.set(it.driver, (counts.get(it.driver) ?? 0) + 1);
  const all = [...counts.keys()].sort();
  let validSet: Set<string>;
  if (options.validDrivers) {
    const unknown = options.validDrivers.filter((d) => !counts.has(d));
    if (unknown.length)
      throw new StateFarmError(
        `validDrivers names drivers not in the data: ${unknown.join(", ")} (known: ${all.join(", ")}).`,
      );
    validSet = new Set(options.validDrivers);
  } else {
    const fraction = options.validFraction ?? 0.2;
    const target = fraction * items.length;
    validSet = new Set();
    let n = 0;
    for (const d of new Rng(options.seed ?? 42).shuffle(all)) {
      if (n >= target || validSet.size >= all.length - 1) break;
      validSet.add(d);
      n += counts.get(d)!;
    }
  }
  return {
    train: items.filter((it) => !validSet.has(it.driver)),
    valid: items.filter((it) => validSet.has(it.driver)),
    drivers: {
      train: all.filter((d) => !validSet.has(d)),
      valid: all.filter((d) => validSet.has(d)),
    },
  };
}

/**
 * A smaller copy for fast iteration (the lecture: 1,500 train / 1,000 valid), drawn from
 * each side of the existing split so the driver split holds.
 */
export function makeSample(
  data: StateFarmData,
  options: { train?: number; valid?: number; test?: number; seed?: number } = {},
): StateFarmData {
  const rng = new Rng(options.seed ?? 42);
  const take = <T>(list: T[], n: number | undefined) =>
    n === undefined || n >= list.length ? rng.shuffle(list) : rng.shuffle(list).slice(0, n);
  const train = take(data.train, options.train ?? 1500);
  const valid = take(data.valid, options.valid ?? 1000);
  const test = options.test === undefined ? data.test : take(data.test, options.test);
  const used = (list: LabelledImage[]) => [...new Set(list.map((it) => it.driver))].sort();
  return { ...data, train, valid, test, drivers: { train: used(train), valid: used(valid) } };
}
