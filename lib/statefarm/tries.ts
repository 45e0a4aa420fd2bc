/**
 * Notebook 04's "Try it" cells: the setting a learner writes for the small CNN (learning rate,
 * epochs, dropout, augmentation), checked before anything trains and turned into the label of its
 * row and curve (lib/display/tries).
 */
import { checkKnobs, checkSetting, type Setting } from "../display/tries";
import type { AugmentOptions } from "../vision/augment";
import { AUGMENT_LEVELS } from "./lesson";

/** `{ lr, epochs, dropout?, <augmentation>? }`, any values: checkCnnTry names a wrong one. */
export type CnnTrySetting = Record<string, unknown>;

/**
 * The largest level a try takes for each of the lesson's augmentation types, in Keras'
 * ImageDataGenerator units as AUGMENT_LEVELS. Shifts are shares of the size (Keras reads 1 and
 * more as pixels; half the photo is already mostly filled-in edge). No flip: a mirrored driver
 * texting with the right hand would be labelled as texting with the right hand but look left.
 */
export const TRY_AUGMENT_MAX: Record<string, number> = {
  width_shift_range: 0.5,
  height_shift_range: 0.5,
  shear_range: 1, // radians (Keras 1), about 57 degrees
  rotation_range: 180, // degrees: any rotation
  channel_shift_range: 255, // the whole pixel range
};

const KNOBS = ["lr", "epochs", "dropout", ...Object.keys(AUGMENT_LEVELS)];

/** A checked try: the numbers to train with and the setting shown in its row and legend. */
export interface CnnTry {
  lr: number;
  epochs: number;
  dropout: number;
  /** The augmentation levels above 0, in AUGMENT_LEVELS' order; undefined for none. */
  augment: AugmentOptions | undefined;
  /** lr, epochs, dropout, augmentation: equal settings get equal labels, whatever their order. */
  setting: Setting;
}

/**
 * Checks a try's setting: lr in (0, 1], epochs a whole number 1-50, dropout in [0, 1) (left out:
 * 0), each augmentation from 0 to TRY_AUGMENT_MAX (left out: none). Throws a RangeError naming the
 * first bad argument and its range.
 */
export function checkCnnTry(given: CnnTrySetting): CnnTry {
  const setting = checkKnobs(given, KNOBS, "{ lr: 0.001, epochs: 3 }");
  const lr = checkSetting("lr", setting.lr, { above: 0, max: 1 });
  const epochs = checkSetting("epochs", setting.epochs, { min: 1, max: 50, integer: true });
  // Below 1: a rate of 1 would drop every unit.
  // Left out means none; null is a value, and a wrong one.
  const dropoutGiven = setting.dropout === undefined ? 0 : setting.dropout;
  const dropout = checkSetting("dropout", dropoutGiven, { min: 0, below: 1 });
  const levels: Array<[string, number]> = [];
  for (const name of Object.keys(AUGMENT_LEVELS)) {
    if (setting[name] === undefined) continue;
    const level = checkSetting(name, setting[name], { min: 0, max: TRY_AUGMENT_MAX[name] });
    if (level > 0) levels.push([name, level]);
  }
  const augmentation = levels.map(([name, level]) => `${name} ${level}`).join(" + ") || "none";
  const augment = levels.length > 0 ? (Object.fromEntries(levels) as AugmentOptions) : undefined;
  return { lr, epochs, dropout, augment, setting: { lr, epochs, dropout, augmentation } };
}
