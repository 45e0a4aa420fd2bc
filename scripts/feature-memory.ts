/**
 * Peak memory of the full State Farm feature precomputation, the heaviest step of notebooks 04 and 05: MobileNet
 * features of every training, validation and test photo plus the augmented training epochs, computed from scratch
 * into a temporary cache (the data folder's own cache is left alone) and held in memory together, as the notebooks
 * hold them. Prints the peak RSS and exits non-zero above the limit (4 GiB unless --limit-mb says otherwise).
 * `npx tsx scripts/feature-memory.ts [--limit-mb N]` (LESSON4_MODE=full for the lesson's sizes).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readConfig } from "../lib/config";
import { initBackend, describeBackend, tf } from "../lib/engine/backend";
import { ensureStateFarm, readStateFarm } from "../lib/statefarm/index";
import { lessonSizes } from "../lib/statefarm/lesson";
import { FEATURE_AUGMENT, stateFarmFeatures, stateFarmMobileNet } from "../lib/statefarm/features";

function limitMb(argv: string[]): number {
  const i = argv.indexOf("--limit-mb");
  if (i < 0) return 4096;
  const n = Number(argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--limit-mb needs a positive number of megabytes, not "${argv[i + 1] ?? ""}"`);
  return n;
}

async function main(): Promise<void> {
  const limit = limitMb(process.argv.slice(2));
  const config = readConfig();
  console.log(describeBackend(await initBackend(config.backend, { threads: "all" })));
  const sizes = lessonSizes(config);
  const source = await ensureStateFarm({ log: false });
  const data = await readStateFarm(source.dir, { seed: config.seed });
  const mobilenet = await stateFarmMobileNet(config);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "lesson4-feature-memory-"));
  const started = Date.now();
  try {
    const kept: tf.Tensor[] = [];
    const jobs: Array<[string, string[], object]> = [
      ["train", data.train.map((it) => it.path), {}],
      ["valid", data.valid.map((it) => it.path), {}],
      ["test", data.test, {}],
      [
        "train-augmented",
        data.train.map((it) => it.path),
        { augment: FEATURE_AUGMENT, epochs: sizes.augmentedFeatureEpochs },
      ],
    ];
    for (const [name, files, options] of jobs) {
      const result = await stateFarmFeatures(files, mobilenet, name, { ...options, cacheDir });
      kept.push(result.features);
      console.log(
        `${name}: ${files.length} photos -> ${JSON.stringify(result.features.shape)}; peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
      );
    }
    const peakMb = process.resourceUsage().maxRSS / 1024;
    const photos = jobs.reduce(
      (n, [, files, options]) => n + files.length * ((options as { epochs?: number }).epochs ?? 1),
      0,
    );
    console.log(
      `${config.mode} mode: ${photos} photos through MobileNet at ${mobilenet.inputSize} px in ${((Date.now() - started) / 1000).toFixed(0)} s; peak RSS ${peakMb.toFixed(0)} MB (limit ${limit} MB)`,
    );
    tf.dispose(kept);
    if (peakMb > limit) {
      console.error(`peak RSS ${peakMb.toFixed(0)} MB is above the ${limit} MB limit`);
      process.exitCode = 1;
    }
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
