import { describe, expect, it } from "vitest";
import { initBackend, backendInfo, describeBackend, tf } from "../lib/engine/backend";

function isNativeInstalled(): boolean {
  try {
    require.resolve("tfjs-node-native");
    return true;
  } catch {
    return false;
  }
}

describe("backend selection", () => {
  it("auto falls back past a missing native backend and says why", async () => {
    const nativeInstalled = isNativeInstalled();
    const info = await initBackend("auto");
    expect(tf.getBackend()).toBe(info.name);
    if (nativeInstalled) {
      expect(info.name).toBe("tensorflow");
    } else {
      expect(info.name).toBe("wasm");
      expect(info.reason).toMatch(/tfjs-node is not installed/);
      expect(info.addedKernels).toContain("UnsortedSegmentSum");
    }
    expect(backendInfo()).toBe(info);
    expect(describeBackend(info)).toContain(info.name);
  });

  it("a named backend that cannot load fails with a clear message", async () => {
    const nativeInstalled = isNativeInstalled();
    if (nativeInstalled) return;
    await expect(initBackend("tensorflow")).rejects.toThrow(/LESSON4_BACKEND=tensorflow cannot be used: .*Use LESSON4_BACKEND=auto/);
  });

  it("switches to an explicitly named backend", async () => {
    const info = await initBackend("cpu");
    expect(info.name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    expect(Array.from(tf.add(1, 2).dataSync())).toEqual([3]);
    const wasm = await initBackend("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(wasm.reason).toMatch(/LESSON4_BACKEND/);
  });
});
