/**
 * Checks a layers model's files before tfjs reads them, so a damaged copy fails naming the file,
 * not a shape.
 */
import * as fs from "fs";
import * as path from "path";
import type * as tf from "@tensorflow/tfjs";

/** The parts of a tfjs layers model.json this project reads. */
export interface ModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** A model folder whose model.json or weight files are missing, unreadable or the wrong size. */
export class ModelFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelFilesError";
  }
}

/**
 * Bytes per value as stored in the weight files (a quantized weight is stored in its quantized
 * dtype).
 */
const STORED_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};
/**
 * The shard size tfjs's converter writes by default (every shard of a group but the last has it).
 */
const CONVERTER_SHARD_BYTES = 4 * 1024 * 1024;

/** Bytes a manifest group's weights take, or null when it cannot be known (string weights). */
function groupBytes(weights: tf.io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const w of weights) {
    const bytes = STORED_BYTES[w.quantization?.dtype ?? w.dtype];
    if (bytes === undefined) return null;
    total += w.shape.reduce((n, d) => n * d, 1) * bytes;
  }
  return total;
}

/**
 * Each file's expected size: tfjs concatenates a group's files, and its converter cuts the group
 * into shards of one size (4 MiB by default) with the remainder in the last. Null when no shard
 * size fits the file count.
 */
function shardSizes(total: number, actual: number[]): number[] | null {
  const n = actual.length;
  if (n === 1) return [total];
  for (const shard of [CONVERTER_SHARD_BYTES, Math.max(...actual)]) {
    if (shard > 0 && Math.ceil(total / shard) === n) {
      return actual.map((_, i) => (i < n - 1 ? shard : total - shard * (n - 1)));
    }
  }
  return null;
}

const describeWeight = (w: tf.io.WeightsManifestEntry) =>
  `${w.name} [${w.shape.join(",")}] ${w.quantization?.dtype ?? w.dtype}`;
const describeWeights = (weights: tf.io.WeightsManifestEntry[]) =>
  weights.slice(0, 2).map(describeWeight).join(", ") +
  (weights.length > 2 ? ` and ${weights.length - 2} more` : "");

/**
 * Reads `modelJson` and checks every weight file its weightsManifest lists: present, and as many
 * bytes as its weights need (the shapes' products times the dtype's bytes). Throws a
 * ModelFilesError naming the file, the expected and actual sizes, and ending with `fix` (what to do
 * about it). Returns the parsed model.json.
 */
export function checkModelFiles(modelJson: string, fix: string): ModelJson {
  const fail = (what: string) => new ModelFilesError(`${what} To fix it: ${fix}.`);
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(modelJson, "utf8")) as ModelJson;
  } catch (error) {
    const message = (error as Error).message;
    const why = (error as NodeJS.ErrnoException).code ? message : `not valid JSON (${message})`;
    throw fail(`The model file ${modelJson} cannot be read: ${why}.`);
  }
  if (
    !json ||
    typeof json !== "object" ||
    !json.modelTopology ||
    !Array.isArray(json.weightsManifest)
  ) {
    const needs = `it needs "modelTopology" and a "weightsManifest"`;
    throw fail(`${modelJson} is not a tfjs layers model.json (${needs}).`);
  }
  const dir = path.dirname(modelJson);
  for (const group of json.weightsManifest) {
    const files = group.paths.map((p) => path.join(dir, p));
    const sizes = files.map((file) => {
      if (!fs.existsSync(file)) {
        throw fail(`The weight file ${file}, listed in ${modelJson}, is missing.`);
      }
      return fs.statSync(file).size;
    });
    const total = groupBytes(group.weights);
    if (total === null) continue;
    // tfjs needs only the group's files together to hold its weights' bytes.
    const actual = sizes.reduce((a, b) => a + b, 0);
    if (actual === total) continue;
    const what = `${group.weights.length} weight(s): ${describeWeights(group.weights)}`;
    const expected = shardSizes(total, sizes);
    const bad = expected ? sizes.findIndex((size, i) => size !== expected[i]) : -1;
    if (expected && bad >= 0) {
      throw fail(
        `The weight file ${files[bad]} has ${sizes[bad]} bytes, but ${modelJson} needs ` +
          `${expected[bad]} bytes there (for ${what}); it is truncated or corrupt.`,
      );
    }
    throw fail(
      `The weight files ${files.join(", ")} hold ${actual} bytes together, but ${modelJson} ` +
        `needs ${total} bytes for their ${what}; they are truncated or corrupt.`,
    );
  }
  return json;
}
