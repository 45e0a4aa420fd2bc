/**
 * tfjs optimizers against the lib's from-scratch rules, step by step on the workbook's line fit,
 * so a notebook can show that both compute the same thing (and where the forms differ).
 */
import * as tf from "@tensorflow/tfjs";
import {
  adagradStep,
  adamStep,
  annealingCheck,
  eveFeedback,
  heavyBallStep,
  rmspropStep,
  sgdStep,
} from "./rules";
import { AdamAnnealing } from "./tf-adam-annealing";
import { Eve } from "./tf-eve";
import { GRADDESC_XY } from "./workbook-fixture";

/** A from-scratch optimizer over the parameter vector [a, b]: one call per step. */
export type LibStep = (params: number[], grads: number[], loss: number, t: number) => number[];

/** One optimizer in both forms, with the same hyper-parameters. */
export interface Comparison {
  name: string;
  /** The hyper-parameters, for display. */
  settings: string;
  tfjs: () => tf.Optimizer;
  lib: () => LibStep;
}

/** One step of a comparison run. */
export interface ComparedStep {
  step: number;
  "a (tfjs)": number;
  "a (lib)": number;
  "b (tfjs)": number;
  "b (lib)": number;
  /** max over a and b of |tfjs - lib| / max(|lib|, 1e-3). */
  "relative difference": number;
}

/** Per-parameter state, applied element-wise with `rule`. */
function elementwise<S>(
  init: () => S,
  rule: (p: number, g: number, s: S, t: number) => number,
): () => LibStep {
  return () => {
    const states: S[] = [init(), init()];
    return (params, grads, _loss, t) => params.map((p, i) => rule(p, grads[i], states[i], t));
  };
}

/** The lesson's optimizers as (tfjs or this lib's tf.Optimizer) / (from-scratch rule) pairs. */
export function standardComparisons(): Comparison[] {
  const eps = tf.backend().epsilon();
  return [
    {
      name: "SGD",
      settings: "lr 0.1",
      tfjs: () => tf.train.sgd(0.1),
      lib: elementwise(
        () => ({}),
        (p, g) => sgdStep(p, g, 0.1),
      ),
    },
    {
      name: "momentum",
      settings: "lr 0.05, momentum 0.9",
      tfjs: () => tf.train.momentum(0.05, 0.9),
      lib: elementwise(
        () => ({ v: 0 }),
        (p, g, s) => {
          const r = heavyBallStep(p, g, s.v, 0.05, 0.9);
          s.v = r.v;
          return r.p;
        },
      ),
    },
    {
      name: "Adagrad",
      settings: `lr 0.1, initial accumulator 0.1, epsilon ${eps}`,
      tfjs: () => tf.train.adagrad(0.1, 0.1),
      lib: elementwise(
        () => ({ acc: 0.1 }),
        (p, g, s) => {
          const r = adagradStep(p, g, s.acc, 0.1, eps);
          s.acc = r.acc;
          return r.p;
        },
      ),
    },
    {
      name: "RMSprop",
      settings: "lr 0.01, decay 0.9, epsilon 1e-7",
      tfjs: () => tf.train.rmsprop(0.01, 0.9, 0, 1e-7, false),
      lib: elementwise(
        () => ({ s: 0 }),
        (p, g, s) => {
          const r = rmspropStep(p, g, s.s, 0.01, 0.9, 1e-7);
          s.s = r.s;
          return r.p;
        },
      ),
    },
    {
      name: "Adam",
      settings: "lr 0.01, beta1 0.9, beta2 0.999, epsilon 1e-7, bias-corrected",
      tfjs: () => tf.train.adam(0.01, 0.9, 0.999, 1e-7),
      lib: elementwise(
        () => ({ m: 0, v: 0 }),
        (p, g, s, t) => {
          const r = adamStep(p, g, s.m, s.v, t, 0.01, 0.9, 0.999, 1e-7);
          s.m = r.m;
          s.v = r.v;
          return r.p;
        },
      ),
    },
    {
      name: "Eve (lib)",
      settings: "lr 0.01, beta1 0.7, beta2 0.9, beta3 0.9, epsilon 1e-7, bias-corrected",
      tfjs: () =>
        new Eve({ learningRate: 0.01, beta1: 0.7, beta2: 0.9, beta3: 0.9, epsilon: 1e-7 }),
      lib: () => {
        const m = [0, 0];
        const v = [0, 0];
        let d = 1;
        let last = NaN;
        return (params, grads, loss, t) => {
          if (Number.isFinite(last) && Math.min(loss, last) > 0)
            d = eveFeedback(loss, last, d, 0.9).d;
          last = loss;
          return params.map((p, i) => {
            const r = adamStep(p, grads[i], m[i], v[i], t, 0.01, 0.7, 0.9, 1e-7, d);
            m[i] = r.m;
            v[i] = r.v;
            return r.p;
          });
        };
      },
    },
    {
      name: "Adam with annealing (lib)",
      settings:
        "lr 0.5, beta1 0.9, beta2 0.95, epsilon 1e-7, bias-corrected, check every step: ratio > 2 divides lr by 4",
      tfjs: () => new AdamAnnealing({ learningRate: 0.5, beta1: 0.9, beta2: 0.95, epsilon: 1e-7 }),
      lib: () => {
        const m = [0, 0];
        const v = [0, 0];
        let lr = 0.5;
        let prev = NaN;
        return (params, grads, _loss, t) => {
          const out = params.map((p, i) => {
            const r = adamStep(p, grads[i], m[i], v[i], t, lr, 0.9, 0.95, 1e-7);
            m[i] = r.m;
            v[i] = r.v;
            return r.p;
          });
          const avg = v.reduce((sum, vi) => sum + Math.sqrt(vi / (1 - 0.95 ** t)), 0);
          if (Number.isNaN(prev)) prev = avg;
          else ({ lr, prevGrad2: prev } = annealingCheck(avg, prev, lr));
          return out;
        };
      },
    },
  ];
}

/**
 * Fits y = a x + b from a = b = 1, one workbook row per step (x and y divided by 100 so float32
 * stays well conditioned), with the tfjs optimizer on tf.Variables and with the rule in float64.
 */
export function compareStepByStep(
  comparison: Comparison,
  steps: number,
): { name: string; steps: ComparedStep[]; worst: number } {
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`steps must be a whole number >= 1, not ${steps}.`);
  const optimizer = comparison.tfjs();
  const rule = comparison.lib();
  const a = tf.variable(tf.scalar(1));
  const b = tf.variable(tf.scalar(1));
  let params = [1, 1];
  const out: ComparedStep[] = [];
  try {
    for (let t = 1; t <= steps; t++) {
      const i = (t - 1) % GRADDESC_XY.x.length;
      const x = GRADDESC_XY.x[i] / 100;
      const y = GRADDESC_XY.y[i] / 100;
      optimizer.minimize(() => a.mul(x).add(b).sub(y).square() as tf.Scalar, false, [a, b]);
      const err = params[0] * x + params[1] - y;
      params = rule(params, [2 * err * x, 2 * err], err * err, t);
      const [ta, tb] = [a.dataSync()[0], b.dataSync()[0]];
      const rel = (got: number, want: number) =>
        Math.abs(got - want) / Math.max(Math.abs(want), 1e-3);
      out.push({
        step: t,
        "a (tfjs)": ta,
        "a (lib)": params[0],
        "b (tfjs)": tb,
        "b (lib)": params[1],
        "relative difference": Math.max(rel(ta, params[0]), rel(tb, params[1])),
      });
    }
  } finally {
    tf.dispose([a, b]);
    optimizer.dispose();
  }
  return {
    name: comparison.name,
    steps: out,
    worst: Math.max(...out.map((s) => s["relative difference"])),
  };
}
