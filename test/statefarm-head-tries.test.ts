import { describe, expect, it } from "vitest";
import { checkHeadTry, HEAD_TRY_PSEUDO, type HeadTrySetting } from "../lib/statefarm/head-tries";
import { Tries } from "../lib/display/tries";

const label = (setting: HeadTrySetting) => Tries.label(checkHeadTry(setting).setting);

describe("notebook 05's try-it settings (lib/statefarm/head-tries)", () => {
  it("left out: no dropout, no pseudo-labels; equal settings get equal labels in any order", () => {
    expect(checkHeadTry({ lr: 0.001, epochs: 8 })).toEqual({
      lr: 0.001,
      epochs: 8,
      dropout: 0,
      pseudo: "none",
      setting: { lr: 0.001, epochs: 8, dropout: 0, pseudo: "none" },
    });
    const soft = { pseudo: "soft", dropout: 0.8, epochs: 8, lr: 0.001 };
    expect(label(soft)).toBe("lr=0.001, epochs=8, dropout=0.8, pseudo=soft");
    expect(label({ lr: 0.001, epochs: 8, dropout: 0, pseudo: "none" })).toBe(
      label({ lr: 0.001, epochs: 8 }),
    );
    for (const pseudo of HEAD_TRY_PSEUDO)
      expect(checkHeadTry({ lr: 1, epochs: 50, pseudo }).pseudo).toBe(pseudo);
  });

  it("names the bad argument and its range", () => {
    const bad = (setting: HeadTrySetting) => () => checkHeadTry(setting);
    expect(bad({ lr: 0, epochs: 8 })).toThrow(
      new RangeError("lr must be a number, greater than 0 and at most 1; got 0."),
    );
    expect(bad({ epochs: 8 })).toThrow(/lr must be a number.*got undefined/);
    for (const epochs of [0, 2.5, 51]) {
      const message = `epochs must be a whole number, at least 1 and at most 50; got ${epochs}.`;
      expect(bad({ lr: 0.01, epochs })).toThrow(new RangeError(message));
    }
    for (const dropout of [-0.1, 1, NaN, "0.8", null]) {
      expect(bad({ lr: 0.01, epochs: 8, dropout })).toThrow(
        /^dropout must be a number, at least 0 and less than 1; got /,
      );
    }
    for (const pseudo of ["Soft", "test", 1, null]) {
      const message = `pseudo must be one of "none", "soft", "hard"; got ${typeof pseudo === "string" ? `"${pseudo}"` : pseudo}.`;
      expect(bad({ lr: 0.01, epochs: 8, pseudo })).toThrow(new RangeError(message));
    }
    expect(bad({ lr: 0.01, epochs: 8, units: 64 })).toThrow(
      new RangeError('unknown setting "units": the settings are lr, epochs, dropout, pseudo.'),
    );
    expect(bad([] as unknown as HeadTrySetting)).toThrow(RangeError);
  });
});
