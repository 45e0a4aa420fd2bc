/**
 * What the optimizer lessons' "Try it" cells share (notebooks 02 and 03): a `Tries` chart on a log
 * scale, checks for a name from a list and for a decay rate in [0, 1), and the tfjs optimizers a
 * try can name, with their settings, ranges and defaults. The notebooks' cells keep the rule of a
 * try in view (check, train from the same start, record, show); this is the reusable part.
 */
import * as tf from "@tensorflow/tfjs";
import { Tries, checkChoice, checkSetting, shown, type Setting } from "../display/tries";
import type { Figure } from "../display/plot";
import { Eve } from "./tf-eve";

export { checkChoice } from "../display/tries";

/** `value` if it is a decay rate in [0, 1) (a beta, a momentum), else a RangeError naming it. */
export function checkDecay(name: string, value: unknown): number {
  // A decay of 1 would never forget anything.
  return checkSetting(name, value, { min: 0, below: 1 });
}

export interface LogScaleTriesOptions {
  /** The x axis's name (default "epoch"). */
  xName?: string;
  /** Setting columns in this order (others after them, then the results). */
  columns?: readonly string[];
  /** Curve values past this (a diverged run), NaN and Infinity are left out of the chart. */
  maxShown?: number;
}

/**
 * `Tries` with the y axis on a log scale (losses that fall by orders of magnitude stay apart),
 * curves cut where a run diverged, and one column per setting before the results even when the
 * tries have different settings (a momentum try beside an Adam try).
 */
export class LogScaleTries extends Tries {
  private readonly options: LogScaleTriesOptions;

  constructor(title: string, curveName: string, options: LogScaleTriesOptions = {}) {
    super(title, curveName, options.xName ?? "epoch");
    this.options = options;
  }

  figure(): Figure {
    const figure = super.figure();
    const most = this.options.maxShown ?? Infinity;
    const keep = (v: number) => Number.isFinite(v) && v > 0 && v <= most;
    const data = figure.data.map((trace) => ({
      ...trace,
      y: (trace.y as number[]).map((v) => (keep(v) ? v : null)),
    }));
    const layout = figure.layout ?? {};
    const yaxis = { ...(layout.yaxis as Record<string, unknown>), type: "log" };
    return { ...figure, data, layout: { ...layout, yaxis } };
  }

  rows(): Array<Record<string, number | string | boolean>> {
    const seen = this.all.flatMap((t) => Object.keys(t.setting));
    const first = (this.options.columns ?? []).filter((c) => seen.includes(c));
    const columns = [...new Set([...first, ...seen])];
    // "" where a try has no such setting, so every row has every column, in this order.
    return this.all.map((t) => ({
      ...Object.fromEntries(columns.map((c) => [c, t.setting[c] ?? ""])),
      ...t.results,
    }));
  }
}

/** The optimizers a try can name, and the settings each takes beside lr and epochs (defaults). */
export const TRY_OPTIMIZERS = {
  sgd: {},
  momentum: { momentum: 0.9 },
  adagrad: {},
  rmsprop: { decay: 0.9 },
  adam: { beta1: 0.9, beta2: 0.999 },
  eve: { beta1: 0.9, beta2: 0.999, beta3: 0.999 },
} as const satisfies Record<string, Record<string, number>>;

export type TryOptimizerName = keyof typeof TRY_OPTIMIZERS;

/** A try as written in a notebook cell: settings an optimizer does not take are refused. */
export interface OptimizerTry {
  optimizer: string;
  lr: number;
  epochs: number;
  momentum?: number;
  decay?: number;
  beta1?: number;
  beta2?: number;
  beta3?: number;
}

/** A checked try: every setting of its optimizer, defaults filled in, in a fixed order. */
export interface CheckedOptimizerTry extends Setting {
  optimizer: TryOptimizerName;
  lr: number;
  epochs: number;
}

/** Setting columns in the order the tries' table shows them. */
export const OPTIMIZER_TRY_COLUMNS = [
  "optimizer",
  "lr",
  "momentum",
  "decay",
  "beta1",
  "beta2",
  "beta3",
  "epochs",
] as const;

export interface OptimizerTryLimits {
  /** Largest learning rate (default 10). */
  maxLr?: number;
  /** Most epochs (default 50). */
  maxEpochs?: number;
}

/**
 * Checks a try before anything is trained: the optimizer's name, no setting it does not take,
 * lr > 0, whole epochs >= 1, every decay in [0, 1). Throws a RangeError naming the first bad
 * setting and its range; else returns the setting with the optimizer's defaults filled in, so
 * writing a default out or leaving it off is the same try.
 */
export function checkOptimizerTry(
  setting: OptimizerTry,
  limits: OptimizerTryLimits = {},
): CheckedOptimizerTry {
  if (setting === null || typeof setting !== "object") {
    const example = '{ optimizer: "adam", lr: 0.001, epochs: 3 }';
    throw new RangeError(`a try is a setting such as ${example}; got ${shown(setting)}.`);
  }
  const names = Object.keys(TRY_OPTIMIZERS) as TryOptimizerName[];
  const optimizer = checkChoice("optimizer", setting.optimizer, names);
  const defaults: Record<string, number> = TRY_OPTIMIZERS[optimizer];
  const takes = ["optimizer", "lr", ...Object.keys(defaults), "epochs"];
  const given = setting as unknown as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (given[key] !== undefined && !takes.includes(key)) {
      const list = takes.join(", ");
      throw new RangeError(`${key} is not a setting of ${optimizer}, which takes ${list}.`);
    }
  }
  const lr = checkSetting("lr", setting.lr, { above: 0, max: limits.maxLr ?? 10 });
  const knobs = Object.entries(defaults).map(([key, value]) => {
    return [key, checkDecay(key, given[key] ?? value)];
  });
  const maxEpochs = limits.maxEpochs ?? 50;
  const epochs = checkSetting("epochs", setting.epochs, { min: 1, max: maxEpochs, integer: true });
  return { optimizer, lr, ...Object.fromEntries(knobs), epochs };
}

/** A fresh optimizer for a checked try (the tfjs calls the notebook's table lists). */
export function makeTryOptimizer(setting: CheckedOptimizerTry): tf.Optimizer {
  const { lr } = setting;
  const knob = (name: string) => setting[name] as number;
  switch (setting.optimizer) {
    case "sgd":
      return tf.train.sgd(lr);
    case "momentum":
      return tf.train.momentum(lr, knob("momentum"));
    case "adagrad":
      return tf.train.adagrad(lr);
    case "rmsprop":
      return tf.train.rmsprop(lr, knob("decay"));
    case "adam":
      return tf.train.adam(lr, knob("beta1"), knob("beta2"));
    case "eve":
      return new Eve({
        learningRate: lr,
        beta1: knob("beta1"),
        beta2: knob("beta2"),
        beta3: knob("beta3"),
      });
  }
}
