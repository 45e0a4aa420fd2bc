/**
 * Eve as a `tf.Optimizer` (registered, so models compiled with it save and load): Adam whose step
 * is divided by a feedback coefficient d that grows when the loss changes a lot and shrinks when
 * it settles, the workbook's eve sheet made usable in `model.compile`/`model.fit`.
 */
import * as tf from "@tensorflow/tfjs";
import { eveFeedback } from "./rules";
import { AdamLikeOptimizer, checkOption, type AdamLikeConfig } from "./tf-adam-like";

export interface EveConfig extends AdamLikeConfig {
  /** Decay of the feedback coefficient d (default 0.999; the workbook's sheet uses 0.9). */
  beta3?: number;
}

/**
 * Eve: at each `minimize` (which is what `model.fit` calls per batch) the loss f at the current
 * weights is compared with the previous step's loss f', r = |f - f'| / min(f, f'),
 * d = beta3 * d + (1 - beta3) * r (the lib's `eveFeedback`), and Adam's step is divided by d.
 * In the workbook f and f' are the last two epochs' losses; here they are the last two batches'.
 * d starts at 1 and is left unchanged on the first step (no previous loss) and whenever a loss is 0.
 * `applyGradients` alone (without a loss) uses the current d.
 */
export class Eve extends AdamLikeOptimizer {
  static className = "Eve";
  readonly beta3: number;
  /** The feedback coefficient d. */
  d = 1;
  /** The previous step's loss (NaN before the first step). */
  lastLoss = NaN;
  /** The last relative loss change r (NaN until there is one). */
  lastR = NaN;

  constructor(config: EveConfig = {}) {
    super("Eve", config);
    this.beta3 = checkOption("Eve", "beta3", config.beta3 ?? 0.999, {
      min: 0,
      max: 1,
      maxOpen: true,
    });
  }

  /** Updates d from a new loss value (what `minimize` does with the loss it computed). */
  observeLoss(loss: number): void {
    if (!Number.isFinite(loss) || loss < 0) {
      throw new Error(
        `Eve needs a finite loss >= 0 to compute its feedback, got ${loss}: check the model's loss (it diverged if this is NaN or Infinity; lower the learning rate).`,
      );
    }
    if (Number.isFinite(this.lastLoss) && Math.min(loss, this.lastLoss) > 0) {
      const fb = eveFeedback(loss, this.lastLoss, this.d, this.beta3);
      this.d = fb.d;
      this.lastR = fb.r;
    }
    this.lastLoss = loss;
  }

  minimize(f: () => tf.Scalar, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    const { value, grads } = this.computeGradients(f, varList);
    try {
      this.observeLoss(value.dataSync()[0]);
      this.applyGradients(
        varList != null ? varList.map((v) => ({ name: v.name, tensor: grads[v.name] })) : grads,
      );
    } finally {
      tf.dispose(grads);
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  protected stepSize(): number {
    return this.learningRate / this.d;
  }

  protected extraState(): number[] {
    return [this.d, this.lastLoss];
  }

  protected setExtraState(values: number[]): void {
    [this.d, this.lastLoss] = values;
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...this.adamConfig(), beta3: this.beta3 };
  }

  static fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config);
  }
}
tf.serialization.registerClass(Eve);

/** `new Eve(config)`, in the style of `tf.train.adam`. */
export function eve(config: EveConfig = {}): Eve {
  return new Eve(config);
}
