/**
 * "Adam with annealing" as a `tf.Optimizer` (registered, so models compiled with it save and
 * load): Adam that cuts its own learning rate when the gradients' size jumps, the workbook's
 * adam_ann sheet made usable in `model.compile`/`model.fit`.
 */
import * as tf from "@tensorflow/tfjs";
import { annealingCheck } from "./rules";
import { AdamLikeOptimizer, checkOption, type AdamLikeConfig } from "./tf-adam-like";

export interface AdamAnnealingConfig extends AdamLikeConfig {
  /** Cut when avg_grad2 / prev_grad2 exceeds this (default 2, the workbook's). */
  threshold?: number;
  /** Divide the learning rate by this at a cut (default 4, the workbook's). */
  factor?: number;
  /** Check every this many steps (default 1; the workbook checks once per epoch of 29 steps). */
  checkEvery?: number;
}

/**
 * Adam with annealing: every `checkEvery` steps, avg_grad2 = sum over all weights of sqrt(v)
 * (v bias-corrected when `biasCorrection` is on, so the warm-up of v does not look like a jump);
 * if avg_grad2 / prev_grad2 > threshold the learning rate is divided by `factor`; prev_grad2 keeps
 * the smallest avg_grad2 seen (the lib's `annealingCheck`). The first check only sets prev_grad2.
 */
export class AdamAnnealing extends AdamLikeOptimizer {
  static className = "AdamAnnealing";
  readonly threshold: number;
  readonly factor: number;
  readonly checkEvery: number;
  /** The smallest avg_grad2 seen (NaN before the first check). */
  prevGrad2 = NaN;
  /** The learning-rate cuts so far: the step after which each happened and the new rate. */
  cuts: Array<{ step: number; learningRate: number }> = [];

  constructor(config: AdamAnnealingConfig = {}) {
    super("AdamAnnealing", config);
    this.threshold = checkOption("AdamAnnealing", "threshold", config.threshold ?? 2, {
      min: 1,
      minOpen: true,
    });
    this.factor = checkOption("AdamAnnealing", "factor", config.factor ?? 4, {
      min: 1,
      minOpen: true,
    });
    this.checkEvery = checkOption("AdamAnnealing", "checkEvery", config.checkEvery ?? 1, {
      min: 1,
    });
    if (!Number.isInteger(this.checkEvery))
      throw new Error(
        `AdamAnnealing checkEvery = ${this.checkEvery} is not valid: it must be a whole number of steps >= 1.`,
      );
  }

  protected stepSize(): number {
    return this.learningRate;
  }

  protected afterUpdate(): void {
    if (this.iterations % this.checkEvery !== 0) return;
    const avgGrad2 = this.sumRootSecondMoment();
    if (Number.isNaN(this.prevGrad2)) {
      this.prevGrad2 = avgGrad2;
      return;
    }
    const check = annealingCheck(
      avgGrad2,
      this.prevGrad2,
      this.learningRate,
      this.threshold,
      this.factor,
    );
    this.prevGrad2 = check.prevGrad2;
    if (check.cut) {
      this.learningRate = check.lr;
      this.cuts.push({ step: this.iterations, learningRate: check.lr });
    }
  }

  /** prev_grad2 (the learning rate, possibly annealed, is in the config). */
  protected extraState(): number[] {
    return [this.prevGrad2];
  }

  protected setExtraState(values: number[]): void {
    this.prevGrad2 = values[0];
  }

  /** The configuration, with the current (possibly annealed) learning rate, so a reloaded model goes on at that rate. */
  getConfig(): tf.serialization.ConfigDict {
    return {
      ...this.adamConfig(),
      threshold: this.threshold,
      factor: this.factor,
      checkEvery: this.checkEvery,
    };
  }

  static fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config);
  }
}
tf.serialization.registerClass(AdamAnnealing);

/** `new AdamAnnealing(config)`, in the style of `tf.train.adam`. */
export function adamAnnealing(config: AdamAnnealingConfig = {}): AdamAnnealing {
  return new AdamAnnealing(config);
}
