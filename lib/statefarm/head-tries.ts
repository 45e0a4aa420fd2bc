/**
 * Notebook 05's "Try it" cells: the setting a learner writes for the feature head (learning rate,
 * epochs, dropout, and whether pseudo-labelled test photos join the training rows), checked before
 * anything trains and turned into the label of its row and curve (lib/display/tries).
 */
import { checkChoice, checkKnobs, checkSetting, type Setting } from "../display/tries";
import type { PseudoMode } from "./pseudo";

/** `{ lr, epochs, dropout?, pseudo? }`, any values: checkHeadTry names a wrong one. */
export type HeadTrySetting = Record<string, unknown>;

/** How the test photos join the training rows: not at all, or with soft or hard pseudo-labels. */
export type HeadTryPseudo = "none" | PseudoMode;

export const HEAD_TRY_PSEUDO: readonly HeadTryPseudo[] = ["none", "soft", "hard"];

const KNOBS = ["lr", "epochs", "dropout", "pseudo"];

/** A checked try: the numbers to train with and the setting shown in its row and legend. */
export interface HeadTry {
  lr: number;
  epochs: number;
  /** featureHead's p: its dropout layers drop p / 4, p and p / 2 of their inputs. */
  dropout: number;
  pseudo: HeadTryPseudo;
  /** lr, epochs, dropout, pseudo in that order: equal settings get equal labels. */
  setting: Setting;
}

/**
 * Checks a try's setting: lr in (0, 1], epochs a whole number 1-50, dropout in [0, 1) (left out:
 * 0), pseudo one of "none", "soft", "hard" (left out: "none"). Throws a RangeError naming the
 * first bad argument and its range.
 */
export function checkHeadTry(given: HeadTrySetting): HeadTry {
  const example = '{ lr: 0.001, epochs: 8, dropout: 0.8, pseudo: "soft" }';
  const setting = checkKnobs(given, KNOBS, example);
  const lr = checkSetting("lr", setting.lr, { above: 0, max: 1 });
  const epochs = checkSetting("epochs", setting.epochs, { min: 1, max: 50, integer: true });
  // Below 1: a rate of 1 would drop every unit.
  // Left out means none; null is a value, and a wrong one.
  const dropoutGiven = setting.dropout === undefined ? 0 : setting.dropout;
  const dropout = checkSetting("dropout", dropoutGiven, { min: 0, below: 1 });
  const pseudoGiven = setting.pseudo === undefined ? "none" : setting.pseudo;
  const pseudo = checkChoice("pseudo", pseudoGiven, HEAD_TRY_PSEUDO);
  return { lr, epochs, dropout, pseudo, setting: { lr, epochs, dropout, pseudo } };
}
