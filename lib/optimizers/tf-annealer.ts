/**
 * A learning-rate annealing callback for `model.fit` (Keras's ReduceLROnPlateau, with the
 * workbook's divide-by-4 as the default cut), and the helpers to read and set any tfjs
 * optimizer's learning rate.
 */
import * as tf from "@tensorflow/tfjs";

interface HasLearningRate {
  learningRate: number;
  setLearningRate?: (lr: number) => void;
}

function lrHolder(optimizer: tf.Optimizer): HasLearningRate {
  const o = optimizer as unknown as Partial<HasLearningRate>;
  if (o == null || typeof o.learningRate !== "number") {
    throw new Error(
      `The optimizer ${optimizer?.getClassName?.() ?? String(optimizer)} has no numeric learningRate to anneal: use tf.train.sgd/momentum/adagrad/rmsprop/adam or this lib's Eve / AdamAnnealing.`,
    );
  }
  return o as HasLearningRate;
}

/** The optimizer's current learning rate. */
export function getLearningRate(optimizer: tf.Optimizer): number {
  return lrHolder(optimizer).learningRate;
}

/** Sets the optimizer's learning rate (SGD and momentum keep it in a tensor too: their own setter updates both). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  if (typeof lr !== "number" || !Number.isFinite(lr) || lr <= 0)
    throw new Error(`Learning rate ${lr} is not valid: it must be a finite number greater than 0.`);
  const o = lrHolder(optimizer);
  if (typeof o.setLearningRate === "function") o.setLearningRate(lr);
  else o.learningRate = lr;
}

export interface LearningRateAnnealerArgs {
  /** Which logged value to watch (default "loss"; "val_loss" needs validation data). */
  monitor?: string;
  /** Multiply the learning rate by this when the value stops improving (default 0.25: the workbook's divide by 4). */
  factor?: number;
  /** Cut after this many epochs in a row without improvement (default 2; 0 or 1 cut at the first such epoch). */
  patience?: number;
  /** An improvement must lower the value by more than this (default 0). */
  minDelta?: number;
  /** Epochs to wait after a cut before counting again (default 0). */
  cooldown?: number;
  /** Never go below this learning rate (default 0). */
  minLr?: number;
}

/** One epoch as the annealer saw it. */
export interface AnnealerRecord {
  epoch: number;
  value: number;
  /** The learning rate used for the next epoch. */
  learningRate: number;
  cut: boolean;
}

/**
 * Keras-like ReduceLROnPlateau: after each epoch, if `monitor` has not improved (fallen by more
 * than minDelta) for `patience` epochs, multiply the optimizer's learning rate by `factor`.
 * `history` records every epoch. Usage: `model.fit(x, y, {callbacks: [new LearningRateAnnealer({patience: 2})]})`.
 */
export class LearningRateAnnealer extends tf.Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  history: AnnealerRecord[] = [];
  private best = Infinity;
  private wait = 0;
  private cooldownLeft = 0;

  constructor(args: LearningRateAnnealerArgs = {}) {
    super();
    const num = (
      name: string,
      value: unknown,
      ok: (v: number) => boolean,
      what: string,
    ): number => {
      if (typeof value !== "number" || !Number.isFinite(value) || !ok(value))
        throw new Error(
          `LearningRateAnnealer ${name} = ${JSON.stringify(value)} is not valid: it must be ${what}.`,
        );
      return value;
    };
    this.monitor = args.monitor ?? "loss";
    if (typeof this.monitor !== "string" || this.monitor === "")
      throw new Error(
        `LearningRateAnnealer monitor must be the name of a logged value such as "loss" or "val_loss".`,
      );
    this.factor = num(
      "factor",
      args.factor ?? 0.25,
      (v) => v > 0 && v < 1,
      "a number between 0 and 1 (exclusive)",
    );
    this.patience = num(
      "patience",
      args.patience ?? 2,
      (v) => Number.isInteger(v) && v >= 0,
      "a whole number of epochs >= 0",
    );
    this.minDelta = num("minDelta", args.minDelta ?? 0, (v) => v >= 0, "a number >= 0");
    this.cooldown = num(
      "cooldown",
      args.cooldown ?? 0,
      (v) => Number.isInteger(v) && v >= 0,
      "a whole number of epochs >= 0",
    );
    this.minLr = num("minLr", args.minLr ?? 0, (v) => v >= 0, "a number >= 0");
  }

  async onTrainBegin(): Promise<void> {
    this.best = Infinity;
    this.wait = 0;
    this.cooldownLeft = 0;
  }

  async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
    const raw = (logs as Record<string, number | tf.Scalar> | undefined)?.[this.monitor];
    if (raw === undefined) {
      throw new Error(
        `LearningRateAnnealer monitors "${this.monitor}", which this fit does not log; logged values: ${Object.keys(logs ?? {}).join(", ") || "none"} (for "val_loss" pass validationData or validationSplit).`,
      );
    }
    const value = typeof raw === "number" ? raw : (await raw.data())[0];
    const optimizer = this.model.optimizer;
    let cut = false;
    if (this.cooldownLeft > 0) this.cooldownLeft--;
    if (!Number.isFinite(value))
      throw new Error(
        `LearningRateAnnealer: ${this.monitor} is ${value} after epoch ${epoch}; training diverged (lower the learning rate).`,
      );
    if (value < this.best - this.minDelta) {
      this.best = value;
      this.wait = 0;
    } else if (this.cooldownLeft === 0) {
      this.wait++;
      if (this.wait >= this.patience) {
        const lr = getLearningRate(optimizer);
        const next = Math.max(lr * this.factor, this.minLr);
        if (next < lr) {
          setLearningRate(optimizer, next);
          cut = true;
        }
        this.cooldownLeft = this.cooldown;
        this.wait = 0;
      }
    }
    this.history.push({ epoch, value, learningRate: getLearningRate(optimizer), cut });
  }
}
