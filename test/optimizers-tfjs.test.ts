/**
 * The lib's from-scratch rules against tfjs's built-in optimizers, step by step, on the workbook's
 * line-fitting problem (one step per data row), with the same hyper-parameters.
 */
import { describe, expect, it, beforeAll } from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  GRADDESC_XY,
  adagradStep,
  adamStep,
  heavyBallStep,
  rmspropStep,
  sgdStep,
} from "../lib/optimizers/index";

type Rule = (p: number, g: number, slot: number[], t: number) => number;

/** Runs `steps` single-row steps with a tfjs optimizer and with a lib rule; returns the worst relative difference. */
function compare(optimizer: tf.Optimizer, rule: Rule, slots: number, steps: number): number {
  const a = tf.variable(tf.scalar(1));
  const b = tf.variable(tf.scalar(1));
  let pa = 1;
  let pb = 1;
  const sa = new Array(slots).fill(0);
  const sb = new Array(slots).fill(0);
  let worst = 0;
  for (let t = 1; t <= steps; t++) {
    const i = (t - 1) % GRADDESC_XY.x.length;
    const x = GRADDESC_XY.x[i] / 100; // scaled so a single float32 run stays well conditioned
    const y = GRADDESC_XY.y[i] / 100;
    optimizer.minimize(() => a.mul(x).add(b).sub(y).square() as tf.Scalar, false, [a, b]);
    const db = 2 * (pa * x + pb - y);
    const da = db * x;
    const na = rule(pa, da, sa, t);
    const nb = rule(pb, db, sb, t);
    pa = na;
    pb = nb;
    for (const [got, want] of [
      [a.dataSync()[0], pa],
      [b.dataSync()[0], pb],
    ])
      worst = Math.max(worst, Math.abs(got - want) / Math.max(Math.abs(want), 1e-3));
  }
  a.dispose();
  b.dispose();
  optimizer.dispose();
  return worst;
}

describe("lib rules vs tfjs built-ins (20 steps, 1e-6 relative)", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });
  const STEPS = 20;
  it("SGD", () => {
    expect(compare(tf.train.sgd(0.1), (p, g) => sgdStep(p, g, 0.1), 0, STEPS)).toBeLessThan(1e-6);
  });
  it("momentum (tfjs form: v = beta v + g)", () => {
    const rule: Rule = (p, g, s) => {
      const r = heavyBallStep(p, g, s[0], 0.05, 0.9);
      s[0] = r.v;
      return r.p;
    };
    expect(compare(tf.train.momentum(0.05, 0.9), rule, 1, STEPS)).toBeLessThan(1e-6);
  });
  it("Adagrad (initial accumulator 0.1, the backend's epsilon)", () => {
    const eps = tf.backend().epsilon();
    const rule: Rule = (p, g, s) => {
      if (s[1] === 0) {
        s[0] = 0.1;
        s[1] = 1;
      }
      const r = adagradStep(p, g, s[0], 0.1, eps);
      s[0] = r.acc;
      return r.p;
    };
    expect(compare(tf.train.adagrad(0.1, 0.1), rule, 2, STEPS)).toBeLessThan(1e-6);
  });
  it("RMSprop (decay 0.9, epsilon 1e-7, no momentum, not centered)", () => {
    const rule: Rule = (p, g, s) => {
      const r = rmspropStep(p, g, s[0], 0.01, 0.9, 1e-7);
      s[0] = r.s;
      return r.p;
    };
    expect(compare(tf.train.rmsprop(0.01, 0.9, 0, 1e-7, false), rule, 1, STEPS)).toBeLessThan(1e-6);
  });
  it("Adam (bias-corrected, epsilon 1e-7)", () => {
    const rule: Rule = (p, g, s, t) => {
      const r = adamStep(p, g, s[0], s[1], t, 0.01, 0.9, 0.999, 1e-7);
      s[0] = r.m;
      s[1] = r.v;
      return r.p;
    };
    expect(compare(tf.train.adam(0.01, 0.9, 0.999, 1e-7), rule, 2, STEPS)).toBeLessThan(1e-6);
  });
  it("a wrong hyper-parameter is caught (the comparison can fail)", () => {
    const rule: Rule = (p, g, s, t) => {
      const r = adamStep(p, g, s[0], s[1], t, 0.01, 0.8, 0.999, 1e-7);
      s[0] = r.m;
      s[1] = r.v;
      return r.p;
    };
    expect(compare(tf.train.adam(0.01, 0.9, 0.999, 1e-7), rule, 2, STEPS)).toBeGreaterThan(1e-6);
  });
});
