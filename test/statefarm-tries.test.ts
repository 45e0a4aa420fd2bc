import { describe, expect, it } from "vitest";
import { checkCnnTry, TRY_AUGMENT_MAX, type CnnTrySetting } from "../lib/statefarm/tries";
import { AUGMENT_LEVELS } from "../lib/statefarm/lesson";
import { Tries } from "../lib/display/tries";

const label = (setting: CnnTrySetting) => Tries.label(checkCnnTry(setting).setting);

describe("notebook 04's try-it settings (lib/statefarm/tries)", () => {
  it("a knob left out means none; augmentation in the lesson's order, level 0 dropped", () => {
    const plain = checkCnnTry({ lr: 0.001, epochs: 3 });
    expect(plain).toEqual({
      lr: 0.001,
      epochs: 3,
      dropout: 0,
      augment: undefined,
      setting: { lr: 0.001, epochs: 3, dropout: 0, augmentation: "none" },
    });
    const shuffled = { rotation_range: 10, lr: 1e-3, width_shift_range: 0.1, epochs: 3 };
    const a = checkCnnTry({ ...shuffled, dropout: 0.5 });
    expect(a.augment).toEqual({ width_shift_range: 0.1, rotation_range: 10 });
    expect(a.setting.augmentation).toBe("width_shift_range 0.1 + rotation_range 10");
    const same = { lr: 0.001, epochs: 3, dropout: 0.5, width_shift_range: 0.1, rotation_range: 10 };
    expect(label({ ...same, shear_range: 0 })).toBe(Tries.label(a.setting));
    expect(label({ lr: 0.001, epochs: 3, dropout: 0 })).toBe(Tries.label(plain.setting));
  });

  it("takes every level of the lesson's augmentation grid, and only its five types", () => {
    expect(Object.keys(TRY_AUGMENT_MAX).sort()).toEqual(Object.keys(AUGMENT_LEVELS).sort());
    for (const [name, levels] of Object.entries(AUGMENT_LEVELS)) {
      for (const level of levels) {
        const checked = checkCnnTry({ lr: 0.01, epochs: 1, [name]: level });
        expect(checked.augment).toEqual({ [name]: level });
      }
    }
  });

  it("names the bad argument and its range", () => {
    const bad = (setting: CnnTrySetting) => () => checkCnnTry(setting);
    expect(bad({ lr: 0, epochs: 3 })).toThrow(
      new RangeError("lr must be a number, greater than 0 and at most 1; got 0."),
    );
    expect(bad({ lr: 1.5, epochs: 3 })).toThrow(/lr must be .* at most 1; got 1.5/);
    expect(bad({ lr: "0.01", epochs: 3 })).toThrow(/lr must be a number.*got "0.01"/);
    expect(bad({ epochs: 3 })).toThrow(/lr must be a number.*got undefined/);
    for (const epochs of [0, 2.5, 51]) {
      const message = `epochs must be a whole number, at least 1 and at most 50; got ${epochs}.`;
      expect(bad({ lr: 0.01, epochs })).toThrow(new RangeError(message));
    }
    for (const dropout of [-0.1, 1, 1.5, NaN, "0.5"]) {
      const message = /^dropout must be a number, at least 0 and less than 1; got /;
      expect(bad({ lr: 0.01, epochs: 3, dropout })).toThrow(message);
    }
    expect(bad({ lr: 0.01, epochs: 3, rotation_range: -5 })).toThrow(
      new RangeError("rotation_range must be a number, at least 0 and at most 180; got -5."),
    );
    const wide = { lr: 0.01, epochs: 3, width_shift_range: 20 };
    expect(bad(wide)).toThrow(/width_shift_range .* at most 0.5; got 20/);
    const absurd = { lr: 0.01, epochs: 3, channel_shift_range: 1e6 };
    expect(bad(absurd)).toThrow(/channel_shift_range .* at most 255/);
    expect(bad({ lr: 0.01, epochs: 3, zoom_range: 0.1 })).toThrow(
      new RangeError(
        'unknown setting "zoom_range": the settings are lr, epochs, dropout, width_shift_range, ' +
          "height_shift_range, shear_range, rotation_range, channel_shift_range.",
      ),
    );
    expect(bad("lr=0.01" as unknown as CnnTrySetting)).toThrow(RangeError);
    expect(bad({ lr: 0.01, epochs: 3 })).not.toThrow();
  });
});
