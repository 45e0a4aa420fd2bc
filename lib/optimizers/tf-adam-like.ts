/**
 * The part Eve and Adam-with-annealing share as `tf.Optimizer`s: Adam's moment slots, the update
 * (with or without bias correction, as in tfjs or as in the workbook), and saving the slots plus a
 * few extra numbers through getWeights/setWeights so `model.save(..., {includeOptimizer: true})`
 * keeps them.
 */
import * as tf from "@tensorflow/tfjs";

/** Adam's hyper-parameters (Keras/tfjs names and defaults). */
export interface AdamLikeConfig {
  /** Step size (default 0.001). */
  learningRate?: number;
  /** Decay of the gradient average m (default 0.9). */
  beta1?: number;
  /** Decay of the squared-gradient average v (default 0.999). */
  beta2?: number;
  /** Added to sqrt(v) (default 1e-7, as tfjs's Adam on float32; the workbook's sheets use 0). */
  epsilon?: number;
  /** Divide m and v by (1 - beta^t) as tfjs and Keras do (default true); the workbook does not. */
  biasCorrection?: boolean;
}

/** A named tensor, as optimizers exchange weights (tfjs-core's NamedTensor). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

function checkNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
  minOpen: boolean,
  maxOpen: boolean,
): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (minOpen ? value > min : value >= min) &&
    (maxOpen ? value < max : value <= max);
  if (!ok) {
    const range = `${minOpen ? "(" : "["}${min}, ${max === Infinity ? "infinity" : max}${maxOpen ? ")" : "]"}`;
    throw new Error(
      `${name} = ${JSON.stringify(value)} is not valid: it must be a number in ${range}.`,
    );
  }
  return value as number;
}

/** Validates an optimizer option: a finite number in a range (open or closed ends). */
export function checkOption(
  className: string,
  name: string,
  value: unknown,
  range: { min: number; max?: number; minOpen?: boolean; maxOpen?: boolean },
): number {
  return checkNumber(
    `${className} ${name}`,
    value,
    range.min,
    range.max ?? Infinity,
    range.minOpen ?? false,
    range.maxOpen ?? range.max === undefined,
  );
}

/** Adam's update over tf.Variables, leaving the step size to subclasses (Eve divides it by d). */
export abstract class AdamLikeOptimizer extends tf.Optimizer {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly biasCorrection: boolean;
  protected firstMoments: Slot[] = [];
  protected secondMoments: Slot[] = [];

  constructor(className: string, config: AdamLikeConfig = {}) {
    super();
    if (config === null || typeof config !== "object")
      throw new Error(
        `${className} takes an options object such as {learningRate: 0.001}, not ${JSON.stringify(config)}.`,
      );
    this.learningRate = checkOption(className, "learningRate", config.learningRate ?? 0.001, {
      min: 0,
      minOpen: true,
    });
    this.beta1 = checkOption(className, "beta1", config.beta1 ?? 0.9, {
      min: 0,
      max: 1,
      maxOpen: true,
    });
    this.beta2 = checkOption(className, "beta2", config.beta2 ?? 0.999, {
      min: 0,
      max: 1,
      maxOpen: true,
    });
    this.epsilon = checkOption(className, "epsilon", config.epsilon ?? 1e-7, { min: 0 });
    if (config.biasCorrection !== undefined && typeof config.biasCorrection !== "boolean")
      throw new Error(
        `${className} biasCorrection must be true or false, not ${JSON.stringify(config.biasCorrection)}.`,
      );
    this.biasCorrection = config.biasCorrection ?? true;
  }

  /** The step size for the next update (lr, or lr / d in Eve). */
  protected abstract stepSize(): number;
  /** Called after each update (Adam with annealing checks the learning rate here). */
  protected afterUpdate(): void {}
  /** Extra state saved after the moments, as plain numbers. */
  protected abstract extraState(): number[];
  protected abstract setExtraState(values: number[]): void;

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const t = this.iterations + 1;
    const c1 = this.biasCorrection ? 1 - this.beta1 ** t : 1;
    const c2 = this.biasCorrection ? 1 - this.beta2 ** t : 1;
    const step = this.stepSize();
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        if (this.firstMoments[i] == null)
          this.firstMoments[i] = {
            originalName: `${name}/m`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
        if (this.secondMoments[i] == null)
          this.secondMoments[i] = {
            originalName: `${name}/v`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
        const gradient = Array.isArray(variableGradients)
          ? variableGradients[i].tensor
          : variableGradients[name];
        if (gradient == null) return;
        const m = this.firstMoments[i].variable;
        const v = this.secondMoments[i].variable;
        const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(gradient, 1 - this.beta1));
        const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
        m.assign(mNew);
        v.assign(vNew);
        const update = tf.div(tf.div(mNew, c1), tf.add(tf.sqrt(tf.div(vNew, c2)), this.epsilon));
        value.assign(tf.sub(value, tf.mul(update, step)));
      });
    });
    this.incrementIterations();
    this.afterUpdate();
  }

  /** Sum over every parameter of sqrt(v) (bias-corrected when the update is): the workbook's avg_grad2. */
  protected sumRootSecondMoment(): number {
    if (this.secondMoments.length === 0) return 0;
    const c2 = this.biasCorrection ? 1 - this.beta2 ** this.iterations : 1;
    return tf.tidy(
      () =>
        tf
          .addN(
            this.secondMoments
              .filter((s) => s != null)
              .map((s) => tf.sum(tf.sqrt(tf.div(s.variable, c2)))),
          )
          .dataSync()[0],
    );
  }

  dispose(): void {
    super.dispose();
    tf.dispose(
      [...this.firstMoments, ...this.secondMoments].filter((s) => s != null).map((s) => s.variable),
    );
    this.firstMoments = [];
    this.secondMoments = [];
  }

  /** [iterations, every m, every v, the extra state] (tfjs's order for Adam, plus one tensor). */
  async getWeights(): Promise<NamedTensor[]> {
    const slots = [...this.firstMoments, ...this.secondMoments];
    return [
      await this.saveIterations(),
      ...slots.map((s) => ({ name: s.originalName, tensor: s.variable as tf.Tensor })),
      { name: `${this.getClassName()}/state`, tensor: tf.tensor1d(this.extraState(), "float32") },
    ];
  }

  async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const extra = rest[rest.length - 1];
    if (!extra || extra.name !== `${this.getClassName()}/state` || rest.length % 2 !== 1) {
      throw new Error(
        `${this.getClassName()}.setWeights expects [iterations, m..., v..., "${this.getClassName()}/state"] as saved by getWeights(); got ${weightValues.map((w) => w.name).join(", ")}.`,
      );
    }
    this.setExtraState(Array.from(await extra.tensor.data()));
    const count = (rest.length - 1) / 2;
    tf.dispose(
      [...this.firstMoments, ...this.secondMoments].filter((s) => s != null).map((s) => s.variable),
    );
    this.firstMoments = rest
      .slice(0, count)
      .map((w) => ({ originalName: w.name, variable: w.tensor.variable(false) }));
    this.secondMoments = rest
      .slice(count, 2 * count)
      .map((w) => ({ originalName: w.name, variable: w.tensor.variable(false) }));
  }

  /** The Adam part of the configuration. */
  protected adamConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      biasCorrection: this.biasCorrection,
    };
  }
}
