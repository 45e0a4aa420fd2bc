/**
 * "Try it" cells: a learner edits a setting and runs the cell again; each try adds a row to a table
 * and a curve to a chart (a setting tried before replaces its row), so every try shows side by side.
 */
import { show } from "./show";
import { tableBundle } from "./table";
import { figureBundle, type Figure } from "./plot";

export type Setting = Record<string, number | string | boolean>;

export interface Try {
  setting: Setting;
  /** One value per epoch (a loss or an error), drawn as a curve. */
  curve: number[];
  /** Numbers shown in the try's row, e.g. the last validation RMSE. */
  results: Record<string, number>;
}

/**
 * The range a try-it setting must be in: `min`/`max` inclusive, `above`/`below` exclusive (a
 * dropout rate or a beta below 1: at 1 nothing is kept or nothing forgotten).
 */
export interface Range {
  min?: number;
  above?: number;
  max?: number;
  below?: number;
  integer?: boolean;
}

function describeRange(range: Range): string {
  const parts = [range.integer ? "a whole number" : "a number"];
  if (range.above !== undefined) parts.push(`greater than ${range.above}`);
  if (range.min !== undefined) parts.push(`at least ${range.min}`);
  if (range.max !== undefined) parts.push(`at most ${range.max}`);
  if (range.below !== undefined) parts.push(`less than ${range.below}`);
  return parts.join(", ").replace(/, (?=[^,]*$)/, parts.length > 2 ? " and " : ", ");
}

/** A value as an error message shows it: a string in quotes, so "0.01" differs from 0.01. */
export function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * `setting` if it is an object that names only `knobs`, else a RangeError with `example`: a
 * misspelt knob would otherwise be ignored without a word.
 */
export function checkKnobs(
  setting: unknown,
  knobs: readonly string[],
  example: string,
): Record<string, unknown> {
  if (setting === null || typeof setting !== "object" || Array.isArray(setting)) {
    throw new RangeError(`the setting must be an object like ${example}; got ${shown(setting)}.`);
  }
  const unknown = Object.keys(setting).filter((k) => !knobs.includes(k));
  if (unknown.length > 0) {
    const known = knobs.join(", ");
    throw new RangeError(`unknown setting ${shown(unknown[0])}: the settings are ${known}.`);
  }
  return setting as Record<string, unknown>;
}

/** `value` if it is one of `allowed`, else a RangeError naming the setting and every choice. */
export function checkChoice<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  const ok = typeof value === "string" && (allowed as readonly string[]).includes(value);
  if (ok) return value as T;
  const choices = allowed.map((a) => JSON.stringify(a)).join(", ");
  throw new RangeError(`${name} must be one of ${choices}; got ${shown(value)}.`);
}

/** `value` if it is a number in `range`, else a RangeError naming the setting and its range. */
export function checkSetting(name: string, value: unknown, range: Range): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.above === undefined || value > range.above) &&
    (range.min === undefined || value >= range.min) &&
    (range.max === undefined || value <= range.max) &&
    (range.below === undefined || value < range.below);
  if (ok) return value as number;
  throw new RangeError(`${name} must be ${describeRange(range)}; got ${shown(value)}.`);
}

export class Tries {
  private readonly list: Try[] = [];

  /** `curveName` labels the chart's y axis, e.g. "validation RMSE"; `xName` its x axis (the curve's steps). */
  constructor(
    readonly title: string,
    readonly curveName: string,
    readonly xName = "epoch",
  ) {}

  /** The label of a setting, e.g. "lr=0.01, epochs=3": tries with the same label replace each other. */
  static label(setting: Setting): string {
    return Object.entries(setting)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
  }

  get all(): readonly Try[] {
    return this.list;
  }

  /** Adds a try, or replaces the earlier try of the same setting. */
  record(attempt: Try): void {
    const label = Tries.label(attempt.setting);
    const earlier = this.list.findIndex((t) => Tries.label(t.setting) === label);
    if (earlier >= 0) this.list.splice(earlier, 1, attempt);
    else this.list.push(attempt);
  }

  rows(): Array<Record<string, number | string | boolean>> {
    return this.list.map((t) => ({ ...t.setting, ...t.results }));
  }

  figure(): Figure {
    return {
      data: this.list.map((t) => ({
        x: t.curve.map((_, i) => i + 1),
        y: t.curve,
        type: "scatter",
        mode: "lines+markers",
        name: Tries.label(t.setting),
      })),
      layout: {
        title: { text: this.title },
        xaxis: { title: { text: this.xName }, ...(this.xName === "epoch" ? { dtick: 1 } : {}) },
        yaxis: { title: { text: this.curveName } },
        height: 360,
      },
    };
  }

  /** Shows the table of every try, then their curves in one chart. */
  show(): void {
    show(tableBundle(this.rows(), { caption: `${this.title}: every try so far`, maxRows: 50 }));
    show(figureBundle(this.figure()));
  }
}
