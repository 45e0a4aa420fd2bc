import { describe, expect, it } from "vitest";
import { checkChoice, checkKnobs, checkSetting, Tries } from "../lib/display/tries";

describe("try-it cells (lib/display/tries)", () => {
  it("a setting tried again replaces its row and curve; a new one adds both", () => {
    const tries = new Tries("bias model", "validation RMSE");
    tries.record({ setting: { lr: 0.01, epochs: 2 }, curve: [1.0, 0.95], results: { rmse: 0.95 } });
    tries.record({
      setting: { lr: 0.001, epochs: 2 },
      curve: [1.1, 1.05],
      results: { rmse: 1.05 },
    });
    tries.record({
      setting: { lr: 0.01, epochs: 2 },
      curve: [0.99, 0.93],
      results: { rmse: 0.93 },
    });
    expect(tries.rows()).toEqual([
      { lr: 0.01, epochs: 2, rmse: 0.93 },
      { lr: 0.001, epochs: 2, rmse: 1.05 },
    ]);
    const traces = tries.figure().data as Array<{ name: string; y: number[] }>;
    expect(traces.map((t) => [t.name, t.y])).toEqual([
      ["lr=0.01, epochs=2", [0.99, 0.93]],
      ["lr=0.001, epochs=2", [1.1, 1.05]],
    ]);
  });

  it("checkSetting names the setting and its range for a bad value", () => {
    expect(checkSetting("lr", 0.01, { above: 0, max: 1 })).toBe(0.01);
    expect(() => checkSetting("lr", 0, { above: 0, max: 1 })).toThrow(
      "lr must be a number, greater than 0 and at most 1; got 0.",
    );
    expect(() => checkSetting("lr", -1e-3, { above: 0 })).toThrow(
      /lr must be a number, greater than 0; got -0.001/,
    );
    expect(() => checkSetting("lr", "0.01", { above: 0 })).toThrow(/got "0.01"/);
    expect(() => checkSetting("epochs", 0, { min: 1, max: 50, integer: true })).toThrow(
      "epochs must be a whole number, at least 1 and at most 50; got 0.",
    );
    expect(() => checkSetting("epochs", 2.5, { min: 1, integer: true })).toThrow(/whole number/);
    expect(() => checkSetting("lr", NaN, { above: 0 })).toThrow(/got NaN/);
  });

  it("an exclusive upper bound, a choice from a list, and only known knobs", () => {
    expect(checkSetting("dropout", 0.5, { min: 0, below: 1 })).toBe(0.5);
    expect(() => checkSetting("dropout", 1, { min: 0, below: 1 })).toThrow(
      "dropout must be a number, at least 0 and less than 1; got 1.",
    );
    expect(checkChoice("pseudo", "soft", ["none", "soft", "hard"])).toBe("soft");
    expect(() => checkChoice("pseudo", "Soft", ["none", "soft"])).toThrow(
      'pseudo must be one of "none", "soft"; got "Soft".',
    );
    expect(checkKnobs({ lr: 1 }, ["lr", "epochs"], "{ lr: 0.1 }")).toEqual({ lr: 1 });
    expect(() => checkKnobs({ lr: 1, epoch: 3 }, ["lr", "epochs"], "{ lr: 0.1 }")).toThrow(
      'unknown setting "epoch": the settings are lr, epochs.',
    );
    expect(() => checkKnobs(3, ["lr"], "{ lr: 0.1 }")).toThrow(
      /must be an object like \{ lr: 0.1 \}; got 3/,
    );
  });
});
