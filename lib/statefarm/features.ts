/**
 * MobileNet features of State Farm photos with the one set of settings the notebooks and the
 * generate script share, so features computed by one are read from the cache by the other.
 */
import type * as tf from "@tensorflow/tfjs";
import {
  precomputeFeatures,
  loadMobileNet,
  type FeatureModel,
  type Features,
} from "../vision/pretrained";
import { readConfig, type Config } from "../config";
import { lessonSizes } from "./lesson";
import type { AugmentOptions } from "../vision/augment";
import { DisplayHandle } from "../display/show";

/** The augmentation the lesson used for its precomputed augmented features. */
export const FEATURE_AUGMENT: AugmentOptions = {
  rotation_range: 15,
  height_shift_range: 0.05,
  shear_range: 0.1,
  channel_shift_range: 20,
  width_shift_range: 0.1,
  seed: 42,
};

/** MobileNet (cut after conv_dw_13) at this mode's input size: 224 as trained, 128 in fast mode. */
export function stateFarmMobileNet(config: Config = readConfig()): Promise<FeatureModel> {
  return loadMobileNet({ config, inputSize: lessonSizes(config).featureSize });
}

/**
 * Features of `files` (max-pooled 2x2: [n, 3, 3, 1024] at 224 pixels, [n, 2, 2, 1024] at 128),
 * cached in shards under data/features/statefarm-<name>-<key>/. `result.store` streams them
 * (bounded memory at any size); `result.features` loads them all, for sets that fit in memory.
 */
export async function stateFarmFeatures(
  files: string[],
  extractor: FeatureModel,
  name: string,
  options: {
    augment?: AugmentOptions;
    epochs?: number;
    show?: boolean;
    cacheDir?: string;
    shardRows?: number;
  } = {},
): Promise<Features> {
  const handle = options.show ? new DisplayHandle() : null;
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(0);
  const result = await precomputeFeatures(files, extractor, {
    name: `statefarm-${name}`,
    cacheDir: options.cacheDir,
    pool: "max2",
    augment: options.augment,
    epochs: options.epochs,
    shardRows: options.shardRows,
    onProgress: handle
      ? (done, total) =>
          handle.update({
            "text/plain": `${name}: ${done}/${total} images through MobileNet (${seconds()} s)`,
          })
      : undefined,
  });
  const { store, computedShards } = result;
  const how = result.cached
    ? "read from the cache"
    : computedShards.length === store.shardCount
      ? `computed in ${seconds()} s`
      : `${computedShards.length} of ${store.shardCount} shards computed in ${seconds()} s, ` +
        "the others read from the cache";
  handle?.update({
    "text/plain": `${name}: features ${JSON.stringify([store.rows, ...store.rowShape])} ${how}`,
  });
  return result;
}

/** The rows of an epoch-major augmented feature array that belong to epoch `e` of `n` images. */
export function epochRows(features: tf.Tensor, n: number, e: number): tf.Tensor {
  return features.slice(e * n, n);
}
