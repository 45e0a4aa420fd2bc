// Interrupting a cell that awaits: tslab alone stops only synchronous code (breakOnSigint) and
// abandons an awaited promise, which keeps running. Here every cell runs in its own async
// context (AsyncLocalStorage), so an interrupt marks exactly that cell's work as interrupted:
//  - tfjs `model.fit`/`fitDataset` started by the cell stop at the next batch (stopTraining) and
//    reject with KeyboardInterrupt; the kernel also yields to the event loop between batches so
//    the interrupt signal is seen while training;
//  - `tf.nextFrame()` rejects with KeyboardInterrupt in an interrupted cell, so awaited loops
//    built on it end;
//  - lib code polls the same flag through lib/engine/interrupt.ts (globalThis[Symbol.for(...)]).
"use strict";
const { AsyncLocalStorage } = require("async_hooks");

/** The error an interrupted cell ends with (named as in IPython). */
class KeyboardInterrupt extends Error {
  constructor(message) {
    super(message);
    this.name = "KeyboardInterrupt";
  }
}

const HOST_KEY = Symbol.for("lesson4-ts.kernel-interrupt");
const storage = new AsyncLocalStorage();
/** The run (one execution of one cell) now executing, or null. */
let current = null;
/** Models fitting, with the run that started each. */
const fitting = new Map();

/** Runs `fn` (a cell's execution) as a run of its own; returns fn's promise. */
function runCell(count, fn) {
  const run = { count, interrupted: false, done: null };
  current = run;
  run.done = storage.run(run, fn).finally(() => {
    if (current === run) current = null;
  });
  return run.done;
}

function interruptedHere() {
  const run = storage.getStore();
  return Boolean(run && run.interrupted);
}

/**
 * Marks the running cell as interrupted, stops its model fits, and resolves once the cell has
 * ended or `graceMs` has passed (then the caller abandons the cell the way tslab does).
 */
async function interruptCurrent(graceMs) {
  const run = current;
  if (!run) return;
  run.interrupted = true;
  for (const [model, owner] of fitting) if (owner === run) model.stopTraining = true;
  let timer;
  await Promise.race([
    run.done.catch(() => {}),
    new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
  ]);
  clearTimeout(timer);
}

// lib/engine/interrupt.ts reads this (it may be loaded twice: by the kernel and by tslab).
globalThis[HOST_KEY] = { isInterrupted: interruptedHere, KeyboardInterrupt };

let lastYield = Date.now();
/** Lets the event loop run (and so the SIGINT handler) at most every 100 ms of busy training. */
function yieldSometimes() {
  if (Date.now() - lastYield < 100) return undefined;
  return new Promise((resolve) => setImmediate(resolve)).then(() => (lastYield = Date.now()));
}

const patched = new WeakSet();

/** Wraps LayersModel.fit/fitDataset so that an interrupt stops the training. */
function patchLayers(layers) {
  if (!layers || !layers.LayersModel || !layers.CustomCallback || patched.has(layers.LayersModel))
    return;
  patched.add(layers.LayersModel);
  const proto = layers.LayersModel.prototype;
  for (const method of ["fit", "fitDataset"]) {
    const original = proto[method];
    proto[method] = async function (...args) {
      const run = storage.getStore();
      if (!run) return original.apply(this, args);
      const at = method === "fit" ? 2 : 1; // fit(x, y, args) / fitDataset(dataset, args)
      const config = args[at] || {};
      const model = this;
      let epochsDone = 0;
      const watch = new layers.CustomCallback(
        {
          onBatchEnd: () => {
            if (run.interrupted) model.stopTraining = true;
            return yieldSometimes();
          },
          onEpochEnd: () => {
            epochsDone++;
            if (run.interrupted) model.stopTraining = true;
            return yieldSometimes();
          },
        },
        "never",
      );
      const callbacks = withCallback(layers, config.callbacks, config.yieldEvery, watch);
      const newArgs = args.slice();
      newArgs[at] = { ...config, callbacks };
      fitting.set(model, run);
      try {
        let history;
        try {
          history = await original.apply(this, newArgs);
        } catch (error) {
          if (!run.interrupted) throw error; // else: a callback's tf.nextFrame() saw the interrupt first
        }
        if (run.interrupted) {
          // Counted as fit counts them: from initialEpoch, up to epochs (an absolute epoch number).
          const done = (config.initialEpoch ?? 0) + epochsDone;
          throw new KeyboardInterrupt(
            `${method} stopped by the interrupt after ${done} of ${config.epochs ?? "?"} epochs; the model keeps the weights it had reached`,
          );
        }
        return history;
      } finally {
        fitting.delete(model);
      }
    };
  }
}

/** The fit config's callbacks (any form tfjs accepts) plus one more, as BaseCallback instances. */
function withCallback(layers, callbacks, yieldEvery, extra) {
  if (callbacks == null) return [extra];
  const list = Array.isArray(callbacks) ? callbacks : [callbacks];
  return [
    ...list.map((c) =>
      c instanceof layers.CustomCallback || typeof c.setModel === "function"
        ? c
        : new layers.CustomCallback(c, yieldEvery),
    ),
    extra,
  ];
}

/** tf.nextFrame rejects with KeyboardInterrupt inside an interrupted cell. */
function patchCore(core) {
  if (!core || typeof core.nextFrame !== "function" || patched.has(core)) return;
  const desc = Object.getOwnPropertyDescriptor(core, "nextFrame");
  if (!desc || !desc.writable) return;
  patched.add(core);
  const original = core.nextFrame;
  core.nextFrame = function nextFrame() {
    const run = storage.getStore();
    if (!run) return original();
    const stop = () => new KeyboardInterrupt("the loop awaiting tf.nextFrame() was interrupted");
    if (run.interrupted) return Promise.reject(stop());
    return original().then(() => {
      if (run.interrupted) throw stop();
    });
  };
}

/** Called with every module the notebook code loads; patches tfjs once per instance. */
function onModuleLoaded(request, exports) {
  if (request === "@tensorflow/tfjs-layers") patchLayers(exports);
  else if (request === "@tensorflow/tfjs-core") patchCore(exports);
}

module.exports = {
  KeyboardInterrupt,
  runCell,
  interruptCurrent,
  isInterrupted: interruptedHere,
  onModuleLoaded,
};
