/**
 * lib/engine/interrupt.ts without a kernel (nothing is ever interrupted) and with a stand-in for
 * the kernel's host object (what kernel/interrupt.cjs puts on globalThis).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  checkpoint,
  interruptRequested,
  KeyboardInterrupt,
  throwIfInterrupted,
} from "../lib/engine/interrupt";

const HOST_KEY = Symbol.for("lesson4-ts.kernel-interrupt");
const globals = globalThis as Record<symbol, unknown>;

afterEach(() => {
  delete globals[HOST_KEY];
});

describe("lib/engine/interrupt", () => {
  it("never reports an interrupt outside the kernel", async () => {
    expect(interruptRequested()).toBe(false);
    expect(() => throwIfInterrupted()).not.toThrow();
    for (let i = 0; i < 3; i++) await checkpoint("a loop", 0);
  });

  it("follows the kernel's flag: checkpoint yields, then throws a KeyboardInterrupt naming the loop", async () => {
    let flag = false;
    globals[HOST_KEY] = { isInterrupted: () => flag };
    await checkpoint("the training loop", 0);
    flag = true;
    expect(interruptRequested()).toBe(true);
    const error = await checkpoint("the training loop", 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyboardInterrupt);
    expect((error as Error).name).toBe("KeyboardInterrupt");
    expect((error as Error).message).toBe("the training loop was interrupted");
  });

  it("lets the event loop run in a busy loop, so a timer (like the interrupt signal) gets through", async () => {
    let fired = false;
    setTimeout(() => (fired = true), 5);
    const start = Date.now();
    while (!fired && Date.now() - start < 5000) await checkpoint("busy", 1);
    expect(fired).toBe(true);
  });
});
