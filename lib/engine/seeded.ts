/**
 * Seeded training for tfjs-layers, which otherwise draws weights, shuffles and dropout masks from
 * Math.random: one seed stream (like Keras' `set_random_seed`), seeded initialisers, and a dropout
 * layer that draws a fresh mask per training step from that stream (tfjs' `Dropout({ seed })`
 * repeats one mask on every step).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { dropoutMask } from "./dropout";

let stream = new Rng("training/42");

/** Restarts the stream every unseeded model and training run draws its seeds from (Keras: keras.utils.set_random_seed). */
export function seedTraining(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`seedTraining: the seed must be a whole number >= 0, not ${seed}`);
  stream = new Rng(`training/${seed}`);
}

/** A seed for one model or training run: `seed` when given, else the next one from the stream. */
export function nextSeed(seed?: number): number {
  return seed ?? stream.int(0, 2 ** 31 - 1);
}

/** Seeds for the layers of one model, derived from the model's seed so each layer differs. */
export class LayerSeeds {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(`layers/${seed}`);
  }
  /** The next layer's seed. */
  next(): number {
    return this.rng.int(0, 2 ** 31 - 1);
  }
  /** Keras' default kernel initialiser (Glorot uniform), seeded. */
  glorot(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.next() });
  }
}

export interface SeededDropoutArgs {
  rate: number;
  seed: number;
  name?: string;
}

/**
 * Keras' Dropout (inverted: kept units are scaled by 1 / (1 - rate) while training; identity at
 * inference) with a new mask on every training call, drawn from a stream seeded by `seed` (the mask itself:
 * ./dropout.ts).
 */
export class SeededDropout extends tf.layers.Layer {
  static className = "SeededDropout";
  readonly rate: number;
  private readonly seed: number;
  private readonly masks: Rng;
  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1))
      throw new Error(`SeededDropout: rate must be in [0, 1), not ${args.rate}`);
    this.rate = args.rate;
    this.seed = args.seed;
    this.masks = new Rng(`dropout/${args.seed}`);
    this.supportsMasking = true;
  }
  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs.training || this.rate === 0) return x;
    const seed = this.nextMaskSeed();
    return tf.tidy(() => x.mul(dropoutMask(x.shape, seed, this.rate, this.keptScale())));
  }
  /** What a kept unit is multiplied by while training: 1 / (1 - rate), in float32. */
  keptScale(): number {
    return Math.fround(1 / (1 - this.rate));
  }
  /**
   * The seed of the next training call's mask, dropoutMask(shape, seed, rate, keptScale()), advancing the stream: for
   * code that runs this layer's training step itself (lib/engine/lessons/embedding-step.ts).
   */
  nextMaskSeed(): number {
    return this.masks.int(0, 2 ** 31 - 1);
  }
  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);
