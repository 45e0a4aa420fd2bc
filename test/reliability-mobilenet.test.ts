/**
 * A damaged MobileNet folder (a truncated or missing weight shard, a model.json that is not JSON)
 * fails before tfjs reads it, naming the file, the sizes and the fix; a good copy loads and its
 * features leave no tensor behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { readConfig } from "../lib/config";
import { initBackend } from "../lib/engine/backend";
import { extractFeatures, loadMobileNet, MOBILENET_SOURCE } from "../lib/vision/pretrained";

const REAL = path.resolve(process.env.LESSON4_SOURCES_DIR ?? "/work/shared", MOBILENET_SOURCE);
const hasModel = fs.existsSync(path.join(REAL, "model.json"));
const size = (file: string) => fs.statSync(path.join(REAL, file)).size;
const largestShard = () =>
  fs
    .readdirSync(REAL)
    .filter((f) => f !== "model.json")
    .sort((a, b) => size(b) - size(a))[0];

const made: string[] = [];
afterAll(() => made.forEach((folder) => fs.rmSync(folder, { recursive: true, force: true })));

/** A fresh copy of the real model laid out like LESSON4_SOURCES_DIR, and a config pointing at it. */
function copyModel() {
  const sources = fs.mkdtempSync(path.join(os.tmpdir(), "reliability-mobilenet-"));
  made.push(sources);
  const dir = path.join(sources, MOBILENET_SOURCE);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(REAL)) fs.copyFileSync(path.join(REAL, f), path.join(dir, f));
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o644);
  return {
    dir,
    config: { ...readConfig(), sourcesDir: sources, dataDir: path.join(sources, "data") },
  };
}

beforeAll(async () => {
  await initBackend("wasm");
});

describe.skipIf(!hasModel)("a damaged MobileNet folder", () => {
  it("a truncated weight shard fails before loading, naming the file, both sizes and the fix", async () => {
    const { dir, config } = copyModel();
    const shard = largestShard();
    fs.truncateSync(path.join(dir, shard), 1000);
    const modelJson = path.join(dir, "model.json");
    await expect(loadMobileNet({ config, inputSize: 32 })).rejects.toThrow(
      `The weight file ${path.join(dir, shard)} has 1000 bytes, but ${modelJson} needs ${size(shard)} bytes`,
    );
    await expect(loadMobileNet({ config, inputSize: 32 })).rejects.toThrow(
      /truncated or corrupt\. To fix it: put a good copy of the model .* at .*, the path LESSON4_SOURCES_DIR points to/,
    );
    // The same folder given as `dir`: deleting it makes the next call download it again.
    await expect(loadMobileNet({ dir, config, inputSize: 32 })).rejects.toThrow(
      `To fix it: delete the folder ${dir} so that it is downloaded again`,
    );
    // A downloaded copy in data/models: delete it, or use LESSON4_SOURCES_DIR.
    const downloaded = path.join(config.dataDir, "models", "mobilenet_v1_1.0_224");
    fs.mkdirSync(path.dirname(downloaded), { recursive: true });
    fs.renameSync(dir, downloaded);
    await expect(
      loadMobileNet({ config: { ...config, sourcesDir: null }, inputSize: 32 }),
    ).rejects.toThrow(
      new RegExp(
        `${shard} has 1000 bytes.*To fix it: delete the folder ${downloaded} so that it is downloaded ` +
          "again on the next run, or put a good copy .* set LESSON4_SOURCES_DIR",
      ),
    );
  });

  it("a missing weight shard and a model.json that is not JSON fail with the file and the fix", async () => {
    const missing = copyModel();
    fs.rmSync(path.join(missing.dir, "group1-shard1of1"));
    await expect(loadMobileNet({ config: missing.config, inputSize: 32 })).rejects.toThrow(
      new RegExp(
        `The weight file ${path.join(missing.dir, "group1-shard1of1")}, listed in .*model\\.json, ` +
          "is missing\\. To fix it: put a good copy",
      ),
    );
    const broken = copyModel();
    fs.writeFileSync(
      path.join(broken.dir, "model.json"),
      '{"modelTopology": {"class_name": "Model"',
    );
    await expect(loadMobileNet({ config: broken.config, inputSize: 32 })).rejects.toThrow(
      new RegExp(
        `The model file ${path.join(broken.dir, "model.json")} cannot be read: not valid JSON .*` +
          "To fix it: put a good copy",
      ),
    );
  });

  it("a good copy loads, and each feature extraction leaves no tensor behind", async () => {
    const { config } = copyModel();
    const extractor = await loadMobileNet({ config, inputSize: 32 });
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, "float32", 3) as tf.Tensor4D;
    extractFeatures(extractor, x).dispose(); // warm-up: folds the batch norms into weights it keeps
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const y = extractFeatures(extractor, x);
      expect(y.shape).toEqual([2, 1, 1, 1024]);
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    x.dispose();
  });
});
