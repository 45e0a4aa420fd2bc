/**
 * The State Farm notebooks' shared settings and small steps (sizes per mode, the random-split
 * counter-example, augmentation levels, picking photos for grids), so both notebooks and the
 * lesson test run exactly the same code.
 */
import { bySize, type Config } from "../config";
import type { AugmentOptions } from "../vision/augment";
import { Rng } from "../random";
import type { LabelledImage, StateFarmData } from "./reader";

/**
 * Image sizes, sample sizes and epochs for the configured mode. Fast mode is a quick run of the
 * same steps: smaller photos, MobileNet on 128-pixel inputs, two of the four augmentation levels.
 * Full mode is cut to fit the lesson run's budget (45 minutes for 04 + 05 on 2 cores): an estimate
 * from per-image training rates put the lesson's larger settings (64x48 photos, 12 CNN epochs, 3
 * augmented feature epochs, 6000 training photos) at about two hours on wasm.
 */
export function lessonSizes(config: Pick<Config, "mode">) {
  return bySize(config, {
    fast: {
      width: 48,
      height: 36,
      gridWidth: 32,
      gridHeight: 24,
      gridLevels: [1, 3],
      sample: { train: 320, valid: 160 },
      linearEpochs: 10,
      convEpochs: 5,
      gridEpochs: 2,
      headEpochs: 10,
      augmentedFeatureEpochs: 1,
      fullTrainLimit: 2000,
      featureSize: 128,
    },
    full: {
      width: 48,
      height: 36,
      gridWidth: 32,
      gridHeight: 24,
      gridLevels: [0, 1, 2, 3],
      sample: { train: 1500, valid: 1000 },
      linearEpochs: 12,
      convEpochs: 8,
      gridEpochs: 2,
      headEpochs: 8,
      augmentedFeatureEpochs: 1,
      fullTrainLimit: 3200,
      featureSize: 224,
    },
  });
}

/** The augmentation grid for this mode: each type at the levels `gridLevels` picks from AUGMENT_LEVELS. */
export function augmentGrid(sizes: { gridLevels: number[] }): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(AUGMENT_LEVELS).map(([type, levels]) => [
      type,
      sizes.gridLevels.map((i) => levels[i]),
    ]),
  );
}

/**
 * The split the lesson warns against: the same number of validation photos drawn at random
 * from all drivers, so validation drivers are also training drivers.
 */
export function randomSplit(
  data: Pick<StateFarmData, "train" | "valid">,
  seed = 42,
): { train: LabelledImage[]; valid: LabelledImage[] } {
  const all = new Rng(seed).shuffle([...data.train, ...data.valid]);
  return { valid: all.slice(0, data.valid.length), train: all.slice(data.valid.length) };
}

/** Each augmentation type at four levels (Keras units: shares of the size, radians for shear, degrees, 0-255 shifts). */
export const AUGMENT_LEVELS: Record<string, number[]> = {
  width_shift_range: [0.05, 0.1, 0.15, 0.2],
  height_shift_range: [0.025, 0.05, 0.1, 0.15],
  shear_range: [0.05, 0.1, 0.2, 0.3],
  rotation_range: [5, 10, 15, 20],
  channel_shift_range: [10, 20, 40, 60],
};

/** Options with each type at its chosen level (the lesson: tune alone, then combine). */
export function combineAugmentations(best: Record<string, number>, seed = 42): AugmentOptions {
  return { ...best, seed } as AugmentOptions;
}

/** `perGroup` photos for each value of `key` (class or driver), in a stable seeded order. */
export function photosBy(
  items: LabelledImage[],
  key: (it: LabelledImage) => string,
  perGroup: number,
  seed = 42,
): Array<{ group: string; item: LabelledImage }> {
  const groups = new Map<string, LabelledImage[]>();
  for (const it of new Rng(seed).shuffle(items)) {
    const k = key(it);
    const list = groups.get(k) ?? [];
    if (list.length < perGroup) list.push(it);
    groups.set(k, list);
  }
  return [...groups.keys()]
    .sort()
    .flatMap((group) => groups.get(group)!.map((item) => ({ group, item })));
}
