/**
 * Keras's `activityRegularizer: l2(rate)` for the looked-up embedding vectors, which tfjs-layers refuses on any layer
 * ("not supported yet"): an identity layer that adds rate * mean over the batch of sum(x²) to the training loss, so a
 * user's or movie's factors are shrunk once per rating they appear in (per-occurrence L2, as in Funk-style matrix
 * factorisation) rather than once per batch whatever the batch holds.
 */
import * as tf from "@tensorflow/tfjs";

export class ActivityL2 extends tf.layers.Layer {
  static className = "LessonActivityL2";
  readonly rate: number;
  /** Penalise each vector's distance from the batch's mean vector instead of its length (a prior centred on a learned mean). */
  readonly centred: boolean;
  /** The output of the latest forward pass; fit's loss reads it right after computing it, inside the same tape. */
  private last: tf.Tensor | null = null;

  constructor(args: { rate: number; centred?: boolean; name?: string }) {
    super({ name: args.name });
    this.centred = args.centred ?? false;
    if (!(args.rate >= 0)) throw new RangeError(`ActivityL2 needs a rate >= 0 (got ${args.rate})`);
    this.rate = args.rate;
    this.addLoss(() => {
      const x = this.last;
      if (!x || x.isDisposed || this.rate === 0) return tf.scalar(0);
      const d = this.centred ? tf.sub(x, tf.mean(x, 0, true)) : x;
      return tf.mul(tf.div(tf.sum(tf.square(d)), x.shape[0] ?? 1), this.rate) as tf.Scalar;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    this.last = x;
    return x;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, centred: this.centred };
  }
}
tf.serialization.registerClass(ActivityL2);

/** An identity layer adding rate * mean over the batch of sum(x²) to the loss (Keras's activity L2, batch-averaged as tf.keras does). */
export function activityL2(rate: number, name?: string, centred = false): ActivityL2 {
  return new ActivityL2({ rate, name, centred });
}
