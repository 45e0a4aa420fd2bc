/**
 * The optimizers' update rules from scratch, one small pure function each, on plain numbers in
 * float64, written in the same operation order as the lesson workbook's cell formulas so a run
 * can be compared cell by cell with Excel's cached values.
 */

/** Plain SGD: p' = p - lr * g. */
export function sgdStep(p: number, g: number, lr: number): number {
  return p - g * lr;
}

/**
 * Momentum as an exponential moving average (the workbook's form):
 * m' = beta * m + (1 - beta) * g, p' = p - lr * m'.
 */
export function momentumStep(
  p: number,
  g: number,
  m: number,
  lr: number,
  beta: number,
): { p: number; m: number } {
  const mNew = m * beta + (1 - beta) * g;
  return { p: p - mNew * lr, m: mNew };
}

/**
 * Momentum as tfjs (and Keras) define it: v' = beta * v + g, p' = p - lr * v'.
 * (Same direction as the EMA form, with the step scaled by 1 / (1 - beta).)
 */
export function heavyBallStep(
  p: number,
  g: number,
  v: number,
  lr: number,
  beta: number,
): { p: number; v: number } {
  const vNew = beta * v + g;
  return { p: p - lr * vNew, v: vNew };
}

/**
 * The workbook's Adagrad: the step is divided by a fixed per-parameter scale G taken from the
 * previous epoch (G = sqrt(sum of squared grads) / count): p' = p - g * (lr / G).
 */
export function workbookAdagradStep(p: number, g: number, lr: number, G: number): number {
  return p - g * (lr / G);
}

/** The workbook's gradient scale for Adagrad: sqrt(sum g^2) / count over one epoch's gradients. */
export function adagradScale(grads: readonly number[]): number {
  let sumsq = 0;
  for (const g of grads) sumsq += g * g;
  return Math.sqrt(sumsq) / grads.length;
}

/** Adagrad as tfjs defines it: acc' = acc + g^2, p' = p - lr * g / sqrt(acc' + eps) (tfjs: eps = the backend's epsilon). */
export function adagradStep(
  p: number,
  g: number,
  acc: number,
  lr: number,
  eps = 0,
): { p: number; acc: number } {
  const accNew = acc + g * g;
  return { p: p - (lr * g) / Math.sqrt(accNew + eps), acc: accNew };
}

/**
 * The workbook's RMSprop: the step uses the *previous* squared average,
 * p' = p - g * lr / sqrt(s), then s' = beta * s + (1 - beta) * g^2.
 */
export function workbookRmspropStep(
  p: number,
  g: number,
  s: number,
  lr: number,
  beta: number,
): { p: number; s: number } {
  return { p: p - (g * lr) / Math.sqrt(s), s: s * beta + (1 - beta) * g ** 2 };
}

/**
 * RMSprop as tfjs defines it (centered = false, momentum = 0):
 * s' = rho * s + (1 - rho) * g^2, p' = p - lr * g / sqrt(s' + eps).
 */
export function rmspropStep(
  p: number,
  g: number,
  s: number,
  lr: number,
  rho: number,
  eps: number,
): { p: number; s: number } {
  const sNew = rho * s + (1 - rho) * g * g;
  return { p: p - (lr * g) / Math.sqrt(sNew + eps), s: sNew };
}

/**
 * Adam without bias correction (the workbook's form, where eps = 0):
 * m' = b1 m + (1-b1) g, s' = b2 s + (1-b2) g^2, p' = p - lr m' / (sqrt(s') + eps) / d (d = 1 except in Eve).
 */
export function workbookAdamStep(
  p: number,
  g: number,
  m: number,
  s: number,
  lr: number,
  beta1: number,
  beta2: number,
  d = 1,
  eps = 0,
): { p: number; m: number; s: number } {
  const mNew = m * beta1 + (1 - beta1) * g;
  const sNew = s * beta2 + (1 - beta2) * g ** 2;
  return { p: p - (mNew * lr) / (Math.sqrt(sNew) + eps) / d, m: mNew, s: sNew };
}

/**
 * Adam as tfjs defines it, with bias correction, at step t (1-based):
 * m' = b1 m + (1-b1) g, v' = b2 v + (1-b2) g^2, p' = p - lr * (m'/(1-b1^t)) / (sqrt(v'/(1-b2^t)) + eps) / d
 * (d = 1 except in Eve).
 */
export function adamStep(
  p: number,
  g: number,
  m: number,
  v: number,
  t: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  d = 1,
): { p: number; m: number; v: number } {
  const mNew = beta1 * m + (1 - beta1) * g;
  const vNew = beta2 * v + (1 - beta2) * g * g;
  const mHat = mNew / (1 - beta1 ** t);
  const vHat = vNew / (1 - beta2 ** t);
  return { p: p - (lr * mHat) / (Math.sqrt(vHat) + eps) / d, m: mNew, v: vNew };
}

/**
 * Eve's feedback coefficient: r = |f1 - f2| / min(f1, f2) (relative change of the last two
 * losses), d' = beta3 * d + (1 - beta3) * r. Adam's step is divided by d'.
 */
export function eveFeedback(
  f1: number,
  f2: number,
  d: number,
  beta3: number,
): { r: number; d: number } {
  const r = Math.abs(f1 - f2) / Math.min(f1, f2);
  return { r, d: d * beta3 + (1 - beta3) * r };
}

/**
 * The adam_ann sheet's learning-rate check: with avg_grad2 = the sum of sqrt(second moment) over
 * the parameters, if avg_grad2 / prev_grad2 > threshold (2) divide lr by factor (4); prev_grad2
 * becomes the smallest avg_grad2 seen.
 */
export function annealingCheck(
  avgGrad2: number,
  prevGrad2: number,
  lr: number,
  threshold = 2,
  factor = 4,
): { lr: number; prevGrad2: number; cut: boolean } {
  const cut = avgGrad2 / prevGrad2 > threshold;
  return { lr: cut ? lr / factor : lr, prevGrad2: Math.min(prevGrad2, avgGrad2), cut };
}
