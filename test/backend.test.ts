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
    await expect(initBackend("tensorflow")).rejects.toThrow(
      /LESSON4_BACKEND=tensorflow cannot be used: .*Use LESSON4_BACKEND=auto/,
    );
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

describe("threaded wasm", () => {
  it("runs XNNPACK on the threads asked for, restarting the backend to change them, with the project's SIMD kernels on shared memory", async () => {
    const { allWasmThreads, readConfig } = await import("../lib/config");
    const { wasmThreadsPossible } = await import("../lib/engine/wasm-threads");
    const { backendSimd } = await import("../lib/engine/wasm-simd");
    const configured = readConfig().wasmThreads;
    const single = await initBackend("wasm", { threads: 1 });
    expect(single.threads).toBe(configured ?? 1);
    const info = await initBackend("wasm", { threads: "all" });
    const wanted = configured ?? allWasmThreads();
    expect(info.threads).toBe(wasmThreadsPossible() ? wanted : 1);
    if (wanted > 1 && wasmThreadsPossible())
      expect(describeBackend(info)).toContain(`${wanted} threads`);
    expect(backendSimd(tf.backend())).not.toBeNull();
    // A product big enough for XNNPACK to split across the pool gives the cpu backend's values.
    const a = tf.randomNormal([256, 300], 0, 1, "float32", 1);
    const b = tf.randomNormal([300, 200], 0, 1, "float32", 2);
    const onWasm = tf.matMul(a, b).dataSync();
    await tf.setBackend("cpu");
    const onCpu = tf
      .matMul(tf.tensor(a.dataSync(), a.shape), tf.tensor(b.dataSync(), b.shape))
      .dataSync();
    await tf.setBackend("wasm");
    let worst = 0;
    onWasm.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - onCpu[i]))));
    expect(worst).toBeLessThan(1e-3);
    // Back to one thread, as the small-model lessons use; the project's kernels still run.
    expect((await initBackend("wasm", { threads: 1 })).threads).toBe(configured ?? 1);
    expect(
      Array.from(tf.gather(tf.tensor1d([5, 6, 7]), tf.tensor1d([2, 0], "int32")).dataSync()),
    ).toEqual([7, 5]);
  });
});

describe("native packages (tfjs-node-gpu, then tfjs-node)", () => {
  const missing = (name: string) =>
    Object.assign(new Error(`Cannot find module '${name}'`), { code: "MODULE_NOT_FOUND" });

  it("says both packages are missing, naming the GPU one", async () => {
    const { tryNative } = await import("../lib/engine/backend");
    const reason = await tryNative(["gpu-pkg", "cpu-pkg"], (name) => {
      throw missing(name);
    });
    expect(reason).toMatch(/tfjs-node is not installed.*tfjs-node-gpu/);
  });

  it("uses the first package that loads and names it in describeBackend", async () => {
    const { tryNative, NATIVE_GPU_PACKAGE } = await import("../lib/engine/backend");
    const before = tf.getBackend();
    const loaded: string[] = [];
    // Stands in for the native package: it registers a backend named "tensorflow" (tfjs's cpu).
    const load = (name: string) => {
      loaded.push(name);
      tf.registerBackend("tensorflow", tf.findBackendFactory("cpu")!);
    };
    try {
      expect(await tryNative([NATIVE_GPU_PACKAGE, "tfjs-node-native"], load)).toBeNull();
      expect(loaded).toEqual([NATIVE_GPU_PACKAGE]);
      expect(tf.getBackend()).toBe("tensorflow");
      const info = { name: "tensorflow" as const, reason: "", addedKernels: [] };
      expect(describeBackend({ ...info, package: NATIVE_GPU_PACKAGE })).toContain(
        `on tensorflow (${NATIVE_GPU_PACKAGE})`,
      );
    } finally {
      await tf.setBackend(before);
      tf.removeBackend("tensorflow");
    }
  });

  it("reports a package that is installed but fails, instead of skipping it", async () => {
    const { tryNative } = await import("../lib/engine/backend");
    const reason = await tryNative(["gpu-pkg", "tfjs-node-native"], (name) => {
      if (name === "gpu-pkg") throw missing(name);
      throw missing("libtensorflow-binding"); // a dependency missing inside the package
    });
    expect(reason).toMatch(/^@tensorflow\/tfjs-node failed to load: .*libtensorflow-binding/);
  });
});
