import { describe, expect, it } from "vitest";
import * as path from "path";
import {
  ConfigError,
  ENGINE_SWITCHES,
  readConfig,
  bySize,
  engineSwitch,
  engineSwitches,
} from "../lib/config";

describe("readConfig", () => {
  it("has documented defaults", () => {
    const config = readConfig({});
    expect(config.mode).toBe("full");
    expect(config.backend).toBe("auto");
    expect(config.seed).toBe(42);
    expect(config.sourcesDir).toBeNull();
    expect(config.wasmThreads).toBeNull();
    expect(readConfig({ LESSON4_WASM_THREADS: "3" }).wasmThreads).toBe(3);
    expect(config.dataDir).toBe(path.join(config.projectRoot, "data"));
  });

  it("reads valid values", () => {
    const config = readConfig({
      LESSON4_MODE: "fast",
      LESSON4_SEED: "7",
      LESSON4_BACKEND: "cpu",
      LESSON4_SOURCES_DIR: __dirname,
      LESSON4_DATA_DIR: "/tmp/x",
    });
    expect(config).toMatchObject({
      mode: "fast",
      seed: 7,
      backend: "cpu",
      sourcesDir: __dirname,
      dataDir: "/tmp/x",
    });
    expect(bySize(config, { fast: 1, full: 2 })).toBe(1);
  });

  it.each([
    [
      "LESSON4_MODE",
      "quick",
      /LESSON4_MODE="quick" is not valid: LESSON4_MODE must be one of "fast", "full"/,
    ],
    ["LESSON4_BACKEND", "gpu", /LESSON4_BACKEND="gpu".*"auto", "tensorflow", "wasm", "cpu"/],
    ["LESSON4_SEED", "-3", /LESSON4_SEED="-3".*whole number/],
    ["LESSON4_SEED", "1.5", /LESSON4_SEED/],
    ["LESSON4_WASM_THREADS", "0", /LESSON4_WASM_THREADS="0".*1 to 16/],
    ["LESSON4_WASM_THREADS", "two", /LESSON4_WASM_THREADS/],
    ["LESSON4_SOURCES_DIR", "/no/such/folder", /LESSON4_SOURCES_DIR.*existing folder/],
  ])("rejects %s=%s naming the variable and the allowed values", (name, value, message) => {
    expect(() => readConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => readConfig({ [name]: value })).toThrow(message);
  });
});

describe("engine switches (LESSON4_FUSED_BN=0 and the like)", () => {
  it("are on by default, 0 turns one off, 1 on; any other value fails naming the variable", () => {
    expect(engineSwitch("LESSON4_FUSED_BN", true, {})).toBe(true);
    expect(engineSwitch("LESSON4_FUSED_BN", true, { LESSON4_FUSED_BN: "0" })).toBe(false);
    expect(engineSwitch("LESSON4_LAZY_ADAM", false, { LESSON4_LAZY_ADAM: "1" })).toBe(true);
    expect(() => engineSwitch("LESSON4_FUSED_BN", true, { LESSON4_FUSED_BN: "off" })).toThrow(
      'LESSON4_FUSED_BN="off" is not valid: LESSON4_FUSED_BN must be "0" (off) or "1" (on).',
    );
  });
});

describe("the engine switches' registry (ENGINE_SWITCHES)", () => {
  it("gives every switch its default, read with the configuration", () => {
    const all = engineSwitches({});
    expect(Object.keys(all).sort()).toEqual(Object.keys(ENGINE_SWITCHES).sort());
    expect(all.LESSON4_FUSED_ADAM).toBe(true);
    expect(all.LESSON4_LAZY_ADAM).toBe(false);
    expect(readConfig({ LESSON4_FAST_STEP: "0" }).switches.LESSON4_FAST_STEP).toBe(false);
    expect(engineSwitch("LESSON4_FUSED_L2", undefined, { LESSON4_FUSED_L2: "0" })).toBe(false);
  });

  it("fails at readConfig on a bad value of any switch, naming the variable and the allowed values", () => {
    for (const name of Object.keys(ENGINE_SWITCHES)) {
      expect(() => readConfig({ [name]: "yes" })).toThrow(ConfigError);
      expect(() => readConfig({ [name]: "yes" })).toThrow(
        `${name}="yes" is not valid: ${name} must be "0" (off) or "1" (on).`,
      );
    }
  });

  it("refuses a name that is not a switch (a typo would otherwise read as the default)", () => {
    expect(() =>
      engineSwitch("LESSON4_FUSED_ADM" as keyof typeof ENGINE_SWITCHES, true, {}),
    ).toThrow(/not an engine switch/);
  });

  it("is where lib reads the environment: no other module under lib/ reads process.env", () => {
    const fs = require("fs") as typeof import("fs");
    const root = path.join(__dirname, "..", "lib");
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/\.(ts|cjs|mjs|js)$/.test(entry.name)) files.push(full);
      }
    };
    walk(root);
    const readers = files
      .filter((f) => /process\.env\b/.test(fs.readFileSync(f, "utf8")))
      .map((f) => path.relative(root, f));
    expect(readers).toEqual(["config.ts"]);
  });
});
