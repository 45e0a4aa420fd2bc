/**
 * Notebook 05's "Try it" cells: the setting a learner writes for the feature head (learning rate,
 * epochs, dropout, and whether pseudo-labelled test photos join the training rows), checked before
 * anything trains and turned into the label of its row and curve (lib/display/tries).
 */
import { checkSetting, type Setting } from "../display/tries";
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

function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Checks a try's setting: lr in (0, 1], epochs a whole number 1-50, dropout in [0, 1) (left out:
 * 0), pseudo one of "none", "soft", "hard" (left out: "none"). Throws a RangeError naming the
 * first bad argument and its range.
 */
export function checkHeadTry(setting: HeadTrySetting): HeadTry {
  if (setting === null || typeof setting !== "object" || Array.isArray(setting)) {
    const example = '{ lr: 0.001, epochs: 8, dropout: 0.8, pseudo: "soft" }';
    throw new RangeError(`the setting must be an object like ${example}; got ${shown(setting)}.`);
  }
  const unknown = Object.keys(setting).filter((k) => !KNOBS.includes(k));
  if (unknown.length > 0) {
    throw new RangeError(`unknown setting ${shown(unknown[0])}: the settings are ${KNOBS.join(", ")}.`);
  }
  const lr = checkSetting("lr", setting.lr, { above: 0, max: 1 });
  const epochs = checkSetting("epochs", setting.epochs, { min: 1, max: 50, integer: true });
  const dropout = setting.dropout === undefined ? 0 : setting.dropout;
  // checkSetting's ranges have no exclusive upper bound; a rate of 1 would drop every unit.
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    throw new RangeError(`dropout must be a number, at least 0 and less than 1; got ${shown(dropout)}.`);
  }
  const pseudo = setting.pseudo === undefined ? "none" : setting.pseudo;
  if (typeof pseudo !== "string" || !HEAD_TRY_PSEUDO.includes(pseudo as HeadTryPseudo)) {
    const allowed = HEAD_TRY_PSEUDO.map((p) => `"${p}"`).join(", ");
    throw new RangeError(`pseudo must be one of ${allowed}; got ${shown(pseudo)}.`);
  }
  const mode = pseudo as HeadTryPseudo;
  return { lr, epochs, dropout, pseudo: mode, setting: { lr, epochs, dropout, pseudo: mode } };
}
