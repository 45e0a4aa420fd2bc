/**
 * Finds the data the notebooks use: the real Kaggle State Farm data when present, else the
 * generated stand-in (made once, atomically), and says which one it is.
 */
import * as fs from "fs";
import * as path from "path";
import { readConfig, bySize, type Config } from "../config";
import { fromSources } from "../datasets/sources";
import { generateStateFarm, type GenerateOptions } from "./generator";

/** Where the data came from. */
export interface StateFarmSource {
  /** Folder (or competition zip) to pass to readStateFarm. */
  dir: string;
  kind: "kaggle" | "synthetic";
  /** One line for the notebook saying which data is used. */
  message: string;
}

/** The generated set's size for the configured mode. */
export function defaultGenerateOptions(
  config: Pick<Config, "mode" | "seed"> = readConfig(),
): GenerateOptions {
  return {
    seed: config.seed,
    ...bySize(config, {
      fast: { drivers: 8, imagesPerClass: 8, testImages: 64 },
      full: { drivers: 26, imagesPerClass: 16, testImages: 1000 },
    }),
  };
}

const KAGGLE_NAMES = [
  "statefarm",
  "state-farm-distracted-driver-detection",
  "state-farm-distracted-driver-detection.zip",
  "statefarm.zip",
];

function isKaggle(candidate: string): boolean {
  if (/\.zip$/i.test(candidate)) return fs.existsSync(candidate) && fs.statSync(candidate).isFile();
  return (
    fs.existsSync(path.join(candidate, "imgs", "train")) &&
    fs.existsSync(path.join(candidate, "driver_imgs_list.csv")) &&
    !fs.existsSync(path.join(candidate, "synthetic.json"))
  );
}

/**
 * Real data from <data>/statefarm (or LESSON4_SOURCES_DIR/statefarm, or the competition zip
 * in either), else the synthetic set in <data>/statefarm-synthetic-<mode>-seed<seed>,
 * generated into a temp folder and renamed when missing.
 */
export async function ensureStateFarm(
  options: { config?: Config; generate?: GenerateOptions; log?: boolean } = {},
): Promise<StateFarmSource> {
  const config = options.config ?? readConfig();
  for (const name of KAGGLE_NAMES) {
    for (const candidate of [path.join(config.dataDir, name), fromSources(name, config)]) {
      if (candidate && isKaggle(candidate)) {
        const source: StateFarmSource = {
          dir: candidate,
          kind: "kaggle",
          message: `Using the Kaggle State Farm data in ${candidate}.`,
        };
        if (options.log !== false) console.log(source.message);
        return source;
      }
    }
  }
  const gen = { ...defaultGenerateOptions(config), ...options.generate };
  const dir = path.join(config.dataDir, `statefarm-synthetic-${config.mode}-seed${gen.seed}`);
  let made = false;
  if (!fs.existsSync(path.join(dir, "synthetic.json"))) {
    const tmp = `${dir}.${process.pid}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      await generateStateFarm(tmp, gen);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(tmp, dir);
      made = true;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const source: StateFarmSource = {
    dir,
    kind: "synthetic",
    message: `No Kaggle State Farm data found (put it in ${path.join(config.dataDir, "statefarm")}); ${made ? "generated" : "using"} the synthetic stand-in in ${dir} (${gen.drivers} drivers x 10 classes x ${gen.imagesPerClass} photos).`,
  };
  if (options.log !== false) console.log(source.message);
  return source;
}
