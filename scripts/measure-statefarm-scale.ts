/**
 * State Farm at real size in bounded memory (issue 22): peak RSS and time of notebook 05's
 * full-mode pipeline (MobileNet features into sharded stores, the feature head, test predictions,
 * the soft and hard pseudo-labelled heads, the streamed submission) on generated sets in the Kaggle
 * layout at the real photo size, 640x480, at two or more sizes; then the slope per 1,000 photos and
 * a projection to the real set's 102,150 photos. Each size runs in a child process of its own, from
 * an empty feature cache; its peak RSS is the kernel's high-water mark (getrusage's maxrss).
 *
 *   npx tsx scripts/measure-statefarm-scale.ts [--sizes 2000,8000] [--data-dir data/statefarm-scale]
 *
 * The generated photos are kept in the data folder for the next run (delete it when done);
 * `--generate-only` only generates them; `--replicate` generates only the smallest size and makes
 * the others from hard-linked copies of its photos (drawing a 640x480 photo takes 0.1-0.2 s).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { readConfig } from "../lib/config";
import { initBackend, describeBackend } from "../lib/engine/backend";
import { CLASSES, generateStateFarm, readStateFarm } from "../lib/statefarm/index";
import { lessonSizes } from "../lib/statefarm/lesson";
import { stateFarmFeatures, stateFarmMobileNet } from "../lib/statefarm/features";
import { featureHead } from "../lib/statefarm/models";
import {
  compileClassifier,
  evaluateStreamed,
  predictBatches,
  predictStreamed,
  trainStreamed,
  type StreamedPart,
} from "../lib/statefarm/train";
import { clipProbs, pseudoPart, type PseudoMode } from "../lib/statefarm/pseudo";
import { checkSubmission, writeSubmissionStreamed } from "../lib/statefarm/submission";

/** The real competition: 22,424 labelled and 79,726 test photos of 26 drivers. */
const REAL = { labelled: 22424, test: 79726, drivers: 26 };
const REAL_PHOTOS = REAL.labelled + REAL.test;

interface Stage {
  name: string;
  seconds: number;
  /** Peak RSS of the process so far, MB. */
  peakMb: number;
}

interface Result {
  photos: number;
  labelled: number;
  test: number;
  stages: Stage[];
  seconds: number;
  peakMb: number;
  /** The machine's 1-minute load average at the start and at the end (other work slows it). */
  load: [number, number];
}

/** Drivers and photos per class giving about the real share of labelled photos in `total`. */
function layoutFor(total: number): {
  drivers: number;
  imagesPerClass: number;
  testImages: number;
} {
  const labelled = (total * REAL.labelled) / REAL_PHOTOS;
  const drivers = Math.min(REAL.drivers, Math.max(3, Math.round(labelled / 10)));
  const imagesPerClass = Math.max(1, Math.round(labelled / (drivers * 10)));
  const testImages = Math.max(1, total - drivers * 10 * imagesPerClass);
  return { drivers, imagesPerClass, testImages };
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

function parseSizes(text: string): number[] {
  const sizes = text.split(",").map((s) => Number(s.trim()));
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 100))
    throw new Error(
      `--sizes needs two or more whole numbers of photos, each at least 100 (e.g. --sizes 2000,8000), not "${text}"`,
    );
  return [...new Set(sizes)].sort((a, b) => a - b);
}

const peakMb = () => process.resourceUsage().maxRSS / 1024;

/** Runs this script again in a child process (node + tsx, no npx in between), with `env`. */
function runSelf(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", __filename, ...args], {
      stdio: "inherit",
      env,
    });
    p.on("error", reject);
    p.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(" ")} exited with status ${code}`)),
    );
  });
}

/**
 * Generates `total` photos at 640x480 into `dir` once, in one part per CPU (drawing a photo takes
 * ~0.1 s of JavaScript) merged into one Kaggle layout: a part's photos and drivers get its number
 * as a prefix. Written in a temp folder renamed when complete.
 */
async function ensurePhotos(dir: string, total: number): Promise<void> {
  if (fs.existsSync(path.join(dir, "synthetic.json"))) return;
  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const started = Date.now();
  const parts = Math.max(1, Math.min(os.cpus().length, Math.floor(total / 500)));
  const sizes = Array.from({ length: parts }, (_, i) => Math.floor((total + i) / parts));
  try {
    const partDir = (i: number) => path.join(tmp, `part-${i}`);
    await Promise.all(
      sizes.map((n, i) => runSelf(["--generate", partDir(i), String(n), String(i)])),
    );
    const csv = ["subject,classname,img"];
    for (const cls of CLASSES)
      fs.mkdirSync(path.join(tmp, "imgs", "train", cls), { recursive: true });
    fs.mkdirSync(path.join(tmp, "imgs", "test"), { recursive: true });
    for (let i = 0; i < parts; i++) {
      const rows = fs.readFileSync(path.join(partDir(i), "driver_imgs_list.csv"), "utf8");
      for (const line of rows.trim().split("\n").slice(1)) {
        const [subject, cls, img] = line.split(",");
        const from = path.join(partDir(i), "imgs", "train", cls, img);
        fs.renameSync(from, path.join(tmp, "imgs", "train", cls, `${i}-${img}`));
        csv.push(`${i}-${subject},${cls},${i}-${img}`);
      }
      for (const img of fs.readdirSync(path.join(partDir(i), "imgs", "test")))
        fs.renameSync(
          path.join(partDir(i), "imgs", "test", img),
          path.join(tmp, "imgs", "test", `${i}-${img}`),
        );
      fs.rmSync(partDir(i), { recursive: true });
    }
    fs.writeFileSync(path.join(tmp, "driver_imgs_list.csv"), `${csv.join("\n")}\n`);
    const about = {
      generator: "lesson4-ts synthetic State Farm, merged parts",
      total,
      parts: sizes,
    };
    fs.writeFileSync(path.join(tmp, "synthetic.json"), `${JSON.stringify(about)}\n`);
    fs.renameSync(tmp, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const layouts = sizes.map((n) => JSON.stringify(layoutFor(n))).join(", ");
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`generated ${total} photos at 640x480 in ${seconds} s, parts ${layouts}`);
}

/**
 * With --replicate: `total` photos as hard links to `copies` copies of the generated set in `src`
 * (photos and drivers renamed per copy), so a large size costs no drawing. The pipeline's time and
 * memory do not depend on what the photos show, only on their number and size.
 */
function replicatePhotos(src: string, dir: string, total: number): void {
  if (fs.existsSync(path.join(dir, "synthetic.json"))) return;
  const rows = fs.readFileSync(path.join(src, "driver_imgs_list.csv"), "utf8");
  const labelled = rows.trim().split("\n").slice(1);
  const test = fs.readdirSync(path.join(src, "imgs", "test"));
  const copies = total / (labelled.length + test.length);
  if (!Number.isInteger(copies))
    throw new Error(
      `--replicate: ${total} is not a whole multiple of the ${labelled.length + test.length} photos in ${src}`,
    );
  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    for (const cls of CLASSES)
      fs.mkdirSync(path.join(tmp, "imgs", "train", cls), { recursive: true });
    fs.mkdirSync(path.join(tmp, "imgs", "test"), { recursive: true });
    const csv = ["subject,classname,img"];
    for (let c = 0; c < copies; c++) {
      for (const line of labelled) {
        const [subject, cls, img] = line.split(",");
        const to = path.join(tmp, "imgs", "train", cls, `r${c}-${img}`);
        fs.linkSync(path.join(src, "imgs", "train", cls, img), to);
        csv.push(`r${c}-${subject},${cls},r${c}-${img}`);
      }
      for (const img of test)
        fs.linkSync(
          path.join(src, "imgs", "test", img),
          path.join(tmp, "imgs", "test", `r${c}-${img}`),
        );
    }
    fs.writeFileSync(path.join(tmp, "driver_imgs_list.csv"), `${csv.join("\n")}\n`);
    const about = { generator: "lesson4-ts synthetic State Farm, replicated", src, copies };
    fs.writeFileSync(path.join(tmp, "synthetic.json"), `${JSON.stringify(about)}\n`);
    fs.renameSync(tmp, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`${total} photos: ${copies} hard-linked copies of the ${src} set`);
}

/** The pipeline of notebook 05 in full mode, in this process; writes a Result to `out`. */
async function child(dir: string, cacheDir: string, out: string): Promise<void> {
  const config = readConfig();
  const sizes = lessonSizes(config);
  const stages: Stage[] = [];
  const started = Date.now();
  const loadAtStart = os.loadavg()[0];
  const stage = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const value = await run();
    stages.push({ name, seconds: (Date.now() - t) / 1000, peakMb: peakMb() });
    console.log(
      `  ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s, peak RSS ${peakMb().toFixed(0)} MB`,
    );
    return value;
  };
  console.log(`  ${describeBackend(await initBackend(config.backend, { threads: "all" }))}`);
  const data = await stage("read the folder", () =>
    readStateFarm(dir, { seed: config.seed, log: false }),
  );
  const mobilenet = await stage("load MobileNet", () => stateFarmMobileNet(config));
  const storeOf = async (files: string[], name: string) =>
    (await stateFarmFeatures(files, mobilenet, name, { cacheDir })).store;
  const feats = await stage("features", async () => ({
    train: await storeOf(
      data.train.map((it) => it.path),
      "train",
    ),
    valid: await storeOf(
      data.valid.map((it) => it.path),
      "valid",
    ),
    test: await storeOf(data.test, "test"),
  }));
  const trn: StreamedPart[] = [{ x: feats.train, y: data.train.map((it) => it.label) }];
  const val = { x: feats.valid, labels: data.valid.map((it) => it.label) };
  const trainHead = async (set: StreamedPart[]) => {
    const m = compileClassifier(featureHead(feats.train.rowShape, { p: 0.8 }), 1e-3);
    await trainStreamed(m, set, val, { epochs: sizes.headEpochs, batchSize: 32, title: false });
    return m;
  };
  const base = await stage("head on the labelled photos", () => trainHead(trn));
  const testProbs = await stage("predict the test photos", () => predictStreamed(base, feats.test));
  const best = await stage("soft and hard pseudo-labelled heads", async () => {
    let kept = { model: base, loss: (await evaluateStreamed(base, val)).loss };
    for (const mode of ["soft", "hard"] as PseudoMode[]) {
      const model = await trainHead([...trn, pseudoPart(feats.test, testProbs, mode)]);
      const loss = (await evaluateStreamed(model, val)).loss;
      const dropped = loss < kept.loss ? kept.model : model;
      if (loss < kept.loss) kept = { model, loss };
      dropped.dispose();
    }
    return kept.model;
  });
  await stage("submission", async () => {
    const file = path.join(cacheDir, "submission.csv");
    async function* clipped() {
      for await (const probs of predictBatches(best, feats.test))
        yield clipProbs(probs, 0.93).map((r) => {
          const sum = r.reduce((a, b) => a + b, 0);
          return r.map((p) => p / sum); // renormalised after clipping, as in notebook 05
        });
    }
    await writeSubmissionStreamed(file, data.test, clipped());
    checkSubmission(file, data.test);
  });
  const labelled = data.train.length + data.valid.length;
  const result: Result = {
    photos: labelled + data.test.length,
    labelled,
    test: data.test.length,
    stages,
    seconds: (Date.now() - started) / 1000,
    peakMb: peakMb(),
    load: [loadAtStart, os.loadavg()[0]],
  };
  fs.writeFileSync(out, JSON.stringify(result));
}

function runChild(dir: string, cacheDir: string, out: string): Promise<void> {
  const env = { ...process.env, LESSON4_MODE: "full" };
  return runSelf(["--child", dir, "--cache", cacheDir, "--out", out], env);
}

const f0 = (n: number) => n.toFixed(0);

function report(results: Result[]): string {
  const names = results[0].stages.map((s) => s.name);
  const head = [
    "photos",
    "labelled / test",
    ...names.map((n) => `${n} (s)`),
    "total (s)",
    "peak RSS (MB)",
    "load avg (start / end)",
  ];
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...results.map(
      (r) =>
        `| ${r.photos} | ${r.labelled} / ${r.test} | ${r.stages.map((s) => s.seconds.toFixed(1)).join(" | ")} | ${f0(r.seconds)} | ${f0(r.peakMb)} | ${r.load.map((l) => l.toFixed(1)).join(" / ")} |`,
    ),
  ];
  const [a, b] = [results[0], results[results.length - 1]];
  const per1000 = (y: (r: Result) => number) => ((y(b) - y(a)) / (b.photos - a.photos)) * 1000;
  const project = (y: (r: Result) => number) =>
    y(b) + (per1000(y) * (REAL_PHOTOS - b.photos)) / 1000;
  const seconds = (r: Result) => r.seconds;
  const memory = (r: Result) => r.peakMb;
  lines.push(
    "",
    `Slope between ${a.photos} and ${b.photos} photos: ${per1000(seconds).toFixed(1)} s and ` +
      `${per1000(memory).toFixed(1)} MB of peak RSS per 1,000 photos.`,
    `Projected for the real set (${REAL_PHOTOS} photos, linear): ${f0(project(seconds))} s ` +
      `(${(project(seconds) / 3600).toFixed(1)} h) and ${f0(project(memory))} MB peak RSS.`,
  );
  return lines.join("\n");
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child")
    return child(argv[1], argValue(argv, "--cache")!, argValue(argv, "--out")!);
  if (argv[0] === "--generate") {
    const [dir, n, part] = [argv[1], Number(argv[2]), Number(argv[3])];
    const options = { ...layoutFor(n), width: 640, height: 480, seed: 42 + part };
    await generateStateFarm(dir, options);
    return;
  }
  const sizes = parseSizes(argValue(argv, "--sizes") ?? "2000,8000");
  const root = path.resolve(
    argValue(argv, "--data-dir") ?? path.join(readConfig().dataDir, "statefarm-scale"),
  );
  const results: Result[] = [];
  for (const total of sizes) {
    const dir = path.join(root, `photos-${total}`);
    console.log(`${total} photos in ${dir}`);
    const smallest = path.join(root, `photos-${sizes[0]}`);
    if (argv.includes("--replicate") && total !== sizes[0]) replicatePhotos(smallest, dir, total);
    else await ensurePhotos(dir, total);
    if (argv.includes("--generate-only")) continue;
    const cacheDir = path.join(root, `features-${total}`);
    fs.rmSync(cacheDir, { recursive: true, force: true }); // measured from an empty cache
    const out = path.join(root, `result-${total}.json`);
    await runChild(dir, cacheDir, out);
    results.push(JSON.parse(fs.readFileSync(out, "utf8")) as Result);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  if (results.length) console.log(`\n${report(results)}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
