/**
 * Lets long lib loops stop when the notebook's interrupt button is pressed: the project's kernel
 * (kernel/interrupt.cjs) marks the interrupted cell, and loops started by it see that here.
 * Outside the kernel (tests, scripts) nothing is ever interrupted.
 */

/** What the kernel shares on globalThis (this module may be loaded more than once). */
interface KernelInterruptHost {
  isInterrupted(): boolean;
}

const HOST_KEY = Symbol.for("lesson4-ts.kernel-interrupt");

/** The error an interrupted loop ends with, named as in Python so notebooks read alike. */
export class KeyboardInterrupt extends Error {
  constructor(message = "interrupted") {
    super(message);
    this.name = "KeyboardInterrupt";
  }
}

function host(): KernelInterruptHost | undefined {
  return (globalThis as Record<symbol, unknown>)[HOST_KEY] as KernelInterruptHost | undefined;
}

/** Whether the cell this code runs for has been interrupted. */
export function interruptRequested(): boolean {
  return host()?.isInterrupted() ?? false;
}

/** Throws KeyboardInterrupt if the cell has been interrupted; `what` names the loop in the message. */
export function throwIfInterrupted(what = "the loop"): void {
  if (interruptRequested()) throw new KeyboardInterrupt(`${what} was interrupted`);
}

let lastYield = Date.now();

/**
 * For busy async loops: every ~100 ms lets the event loop run (so the kernel receives the
 * interrupt signal), then throws KeyboardInterrupt if the cell was interrupted.
 */
export async function checkpoint(what = "the loop", everyMs = 100): Promise<void> {
  if (Date.now() - lastYield >= everyMs) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    lastYield = Date.now();
  }
  throwIfInterrupted(what);
}
