/**
 * fitCollab at MovieLens 25M's size (issue 22): the real ml-25m ratings.csv when present
 * (LESSON4_SOURCES_DIR/data/ml-25m or data/ml-25m), else the generated one of the same shape,
 * read as a stream into typed columns and split 80/20; one repetition = one epoch of fitCollab's
 * defaults (bias model, batch 1024) on the 20M training ratings, against the same model in PyTorch
 * (bench/peers/collab_25m_torch.py, same rows through a mask file). An epoch takes minutes on each
 * side, so it runs only when named: `npm run bench -- collab-25m --reps 1 --warmup 0`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readConfig } from "../lib/config";
import type { CollabOptions } from "../lib/collab/index";
import { findMovieLens25m, readRatingsStream } from "../lib/datasets/ratings-stream";
import { splitColumns } from "../lib/datasets/ratings-split";
import { ensureSyntheticRatings } from "../lib/datasets/ratings-synthetic";
import type { Benchmark } from "./types";
import {
  EpochStream,
  PEER_PYTHON,
  peerUnavailable,
  runEpochPeer,
  schedulePrefix,
} from "./peers/collab";

const NAME = "collab-25m";
const BATCH = 1024;

let csv = "";
let mask = "";
let stream: EpochStream | null = null;
const facts: Record<string, number | string> = {};

const bench: Benchmark = {
  name: NAME,
  qualityLabel: "validation RMSE",
  note: "25M ratings (80% trained): fitCollab's defaults, batch 1024, vs the same in PyTorch; no Keras peer at this size",
  async setup() {
    if (!process.argv.slice(2).includes(NAME))
      throw new Error(
        `runs only when named (npm run bench -- ${NAME} --reps 1 --warmup 0): an epoch of 20M ratings takes minutes on each side`,
      );
    const config = readConfig();
    const real = findMovieLens25m(config);
    csv = real ?? (await ensureSyntheticRatings({ seed: 42 }, config)).file;
    const started = Date.now();
    const cols = await readRatingsStream(csv);
    facts.parse_s = (Date.now() - started) / 1000;
    if (cols.badCount)
      throw new Error(`${csv} has ${cols.badCount} malformed rows; the peer's mask assumes none`);
    facts.data = real ? "ml-25m" : "generated";
    facts.ratings = cols.ratings.length;
    const split = splitColumns(cols, 0.2, 42);
    // The peer reads the same split: one byte per data row, 1 = training.
    const flags = new Uint8Array(cols.ratings.length);
    for (const row of split.trainRows) flags[row] = 1;
    mask = path.join(os.tmpdir(), `collab-25m-mask-${process.pid}.u8`);
    fs.writeFileSync(mask, flags);
    const options: CollabOptions = {
      model: "bias",
      batchSize: BATCH,
      schedule: schedulePrefix(1000),
      validation: split.valid,
      seed: 42,
    };
    stream = new EpochStream(split.train, options);
  },
  async run() {
    const r = await stream!.next();
    return {
      seconds: r.seconds,
      quality: r.valRmse ?? null,
      extra: { epoch: r.epoch + 1, lr: r.lr, batch: BATCH, ...facts },
    };
  },
  async peer(reps) {
    const script = path.join(__dirname, "peers", "collab_25m_torch.py");
    const args = ["--mask", mask, "--batch", String(BATCH)];
    const warmup = stream!.epochs - reps;
    return runEpochPeer(PEER_PYTHON, peerUnavailable(), script, args, csv, warmup, reps);
  },
  async teardown() {
    await stream?.stop();
    if (mask) fs.rmSync(mask, { force: true });
  },
};

export default bench;
