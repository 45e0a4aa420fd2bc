/**
 * `interact(fn, controls)` in the style of ipywidgets' interact: a control per argument, and an
 * output area that shows what `fn` draws, redrawn in the kernel each time the learner moves one.
 */
import { richBundle } from "../rich";
import { show } from "../show";
import {
  Box,
  checkbox,
  dropdown,
  floatSlider,
  intSlider,
  Output,
  ValueWidget,
  Widget,
  type LabelOptions,
} from "./controls";
import { WidgetModel } from "./model";

/**
 * What each argument is controlled by: a control, or a shorthand as in ipywidgets: [min, max] or
 * [min, max, step] (a slider, int when all are whole), a list of strings (a dropdown), a boolean
 * (a checkbox).
 */
export type Control =
  | ValueWidget<unknown>
  | readonly [number, number]
  | readonly [number, number, number]
  | readonly string[]
  | boolean;

type ValueOf<C> =
  C extends ValueWidget<infer T>
    ? T
    : C extends boolean
      ? boolean
      : C extends readonly string[]
        ? C[number]
        : number;

/** The values `fn` is called with: one per control, by name. */
export type Values<C> = { [K in keyof C]: ValueOf<C[K]> };

/** The control a shorthand stands for, labelled with its argument's name. */
function toControl(name: string, spec: Control): ValueWidget<unknown> {
  if (spec instanceof ValueWidget) return spec;
  const label: LabelOptions = { description: name };
  if (typeof spec === "boolean") return checkbox({ ...label, value: spec });
  const items = spec as readonly unknown[];
  if (items.length && items.every((x) => typeof x === "string")) {
    return dropdown({ ...label, options: spec as readonly string[] });
  }
  const [min, max, step] = spec as readonly number[];
  if (spec.length < 2 || spec.length > 3 || typeof min !== "number" || typeof max !== "number") {
    throw new TypeError(
      `interact: ${name} must be a control, [min, max(, step)], strings or a boolean`,
    );
  }
  const middle = (min + max) / 2;
  const whole = [min, max, step ?? 1].every(Number.isInteger);
  if (whole) return intSlider({ ...label, min, max, step, value: Math.round(middle) });
  return floatSlider({ ...label, min, max, step, value: middle });
}

function isControlWidget(value: unknown): value is ValueWidget<unknown> {
  return value instanceof ValueWidget;
}

/** The controls and output area of one interact, in a column; redraws when a control changes. */
export class Interactive<C extends Record<string, Control>> extends Widget {
  readonly model: WidgetModel;
  readonly controls: { [K in keyof C]: ValueWidget<ValueOf<C[K]>> };
  readonly output = new Output();
  private drawing: Promise<void> = Promise.resolve();
  private stale = false;
  private drawn = 0;

  constructor(
    private readonly fn: (values: Values<C>) => unknown,
    specs: C,
  ) {
    super();
    const entries = Object.entries(specs).map(([name, spec]) => [name, toControl(name, spec)]);
    this.controls = Object.fromEntries(entries) as typeof this.controls;
    const widgets = Object.values(this.controls) as Widget[];
    const box = new Box([...widgets, this.output], "column");
    this.model = box.model;
    for (const control of widgets) {
      if (isControlWidget(control)) control.onChange(() => this.redraw());
    }
  }

  /** The controls' current values. */
  get values(): Values<C> {
    const controls = Object.entries(this.controls) as Array<[string, ValueWidget<unknown>]>;
    const entries = controls.map(([name, control]) => [name, control.value]);
    return Object.fromEntries(entries) as Values<C>;
  }

  /** How many times `fn` has run to the end. */
  get draws(): number {
    return this.drawn;
  }

  /**
   * Runs `fn` with the current values and shows what it displays and returns; throws what `fn`
   * throws (the area then shows the error).
   */
  async draw(): Promise<void> {
    try {
      const { value, items } = await this.output.capture(() => this.fn(this.values));
      const result = value === undefined ? null : await richBundle(value);
      if (result) items.push({ output_type: "display_data", data: result, metadata: {} });
      await this.output.replace(items);
      this.drawn++;
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const traceback = [`${e.name}: ${e.message}`];
      const shown = { output_type: "error", ename: e.name, evalue: e.message, traceback };
      await this.output.replace([shown]);
      throw e;
    }
  }

  /** Redraws after a change: one draw at a time, and the latest values win. */
  private redraw(): Promise<void> {
    if (this.stale) return this.drawing;
    this.stale = true;
    this.drawing = this.drawing.then(async () => {
      this.stale = false;
      // A failed redraw shows its error in the area; the controls keep working.
      await this.draw().catch(() => undefined);
    });
    return this.drawing;
  }

  /** Resolves when the redraws asked for so far have finished. */
  settled(): Promise<void> {
    return this.drawing;
  }

  /** Closes the controls, the output area and the column: their views stop working. */
  close(): void {
    for (const control of Object.values(this.controls) as Widget[]) control.close();
    this.output.close();
    this.model.close();
  }

  toString(): string {
    const values = Object.entries(this.values).map(([k, v]) => `${k} = ${String(v)}`);
    return `interact(${values.join(", ")})`;
  }
}

/** Builds an interact without showing it: show it as a cell's last value or with `show`. */
export function interactive<C extends Record<string, Control>>(
  fn: (values: Values<C>) => unknown,
  controls: C,
): Interactive<C> {
  return new Interactive(fn, controls);
}

/**
 * Shows a control for each of `controls` above an area with what `fn` draws for their values,
 * and redraws it whenever the learner changes one. Resolves after the first drawing (and
 * rejects if it fails). Nothing is returned, so `await interact(...)` as a cell's last line does
 * not show the widgets twice; `interactive` gives a handle on them.
 */
export async function interact<C extends Record<string, Control>>(
  fn: (values: Values<C>) => unknown,
  controls: C,
): Promise<void> {
  const ui = new Interactive(fn, controls);
  replaceInCell(ui);
  await ui.draw();
  show(ui);
}

// The interact each notebook cell showed last, by cell id (JupyterLab sends it with each run), on
// globalThis as the widget registry is.
const BY_CELL = Symbol.for("lesson4-ts.interact-by-cell");

/**
 * A cell run again replaces its output, and with it the last interact's widgets: close those, so
 * re-running a cell while tweaking leaves no models behind (in the kernel, or in the widget state
 * JupyterLab saves with the notebook).
 */
function replaceInCell(ui: { close(): void }): void {
  const g = globalThis as Record<symbol, unknown>;
  const cell = g[Symbol.for("lesson4-ts.running-cell")] as { cellId: string | null } | undefined;
  if (!cell?.cellId) return;
  const byCell = (g[BY_CELL] ??= new Map()) as Map<string, { close(): void }>;
  byCell.get(cell.cellId)?.close();
  byCell.set(cell.cellId, ui);
}
