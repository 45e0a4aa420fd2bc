/**
 * L2 towards the rows' common mean rather than towards zero, l2 * sum over rows of |w_row - mean_row(w)|²: a Gaussian
 * prior on the factor vectors centred on a learned mean vector, as in Bayesian probabilistic matrix factorisation.
 * For the dot model it lets a rarely-rated movie's vector stay near the typical movie vector instead of near zero.
 */
import * as tf from "@tensorflow/tfjs";

type Regularizer = ReturnType<typeof tf.regularizers.l2>;
/** tfjs-layers only accepts instances of its (unexported) Regularizer base class; reach it through L1L2. */
const RegularizerBase = Object.getPrototypeOf(
  (tf.regularizers.l2({ l2: 0 }) as unknown as { constructor: object }).constructor,
) as abstract new () => Regularizer;

export class CentredL2 extends RegularizerBase {
  static className = "LessonCentredL2";
  readonly l2: number;

  constructor(args: { l2: number }) {
    super();
    if (!(args.l2 >= 0)) throw new RangeError(`CentredL2 needs l2 >= 0 (got ${args.l2})`);
    this.l2 = args.l2;
  }

  apply(x: tf.Tensor): tf.Scalar {
    return tf.tidy(
      () => tf.mul(tf.sum(tf.square(tf.sub(x, tf.mean(x, 0, true)))), this.l2) as tf.Scalar,
    );
  }

  getConfig(): tf.serialization.ConfigDict {
    return { l2: this.l2 };
  }

  static fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config);
  }
}
tf.serialization.registerClass(CentredL2);
