/**
 * The controls a learner tweaks with: sliders (float, int, log), a dropdown, a checkbox, a button,
 * an output area and boxes, each an ipywidgets 8 model the front end draws. Each is Displayable:
 * a cell's last value shows it, and `show(widget)` shows it anywhere.
 */
import { captureDisplays, type Displayable, type MimeBundle, type Writer } from "../show";
import type { Json } from "./comm";
import { BASE, CONTROLS, OUTPUT, WidgetModel, type Accept } from "./model";

const ref = (model: WidgetModel): string => `IPY_MODEL_${model.id}`;

/** The layout model every DOM widget points at (sizes, margins; the front end's defaults). */
function layoutModel(): WidgetModel {
  const layout = { ...BASE, name: "LayoutModel" };
  return new WidgetModel(layout, { ...BASE, name: "LayoutView" }, {});
}

/** A style model; `initial` description widths show long labels such as "learning rate". */
function styleModel(name: string, state: Json = { description_width: "initial" }): WidgetModel {
  return new WidgetModel({ ...CONTROLS, name }, { ...BASE, name: "StyleView" }, state);
}

/** A widget the front end draws: its model and how it reads as text where widgets cannot show. */
export abstract class Widget implements Displayable {
  abstract readonly model: WidgetModel;

  /** A one-line text description (nbconvert's text output, scripts). */
  abstract toString(): string;

  toMimeBundle(): MimeBundle {
    return this.model.viewBundle(this.toString());
  }

  /** Closes the widget: its views stop responding. */
  close(): void {
    this.model.close();
  }
}

/** A DOM widget's model: the classes, a layout, a style, and its own attributes. */
function domModel(name: string, state: Json, style: WidgetModel | null, accept?: Accept) {
  const layout = layoutModel();
  const base: Json = {
    _dom_classes: [],
    layout: ref(layout),
    tabbable: null,
    tooltip: null,
    ...(style ? { style: ref(style) } : {}),
    ...state,
  };
  const view = name.replace(/Model$/, "View");
  const model = new WidgetModel({ ...CONTROLS, name }, { ...CONTROLS, name: view }, base, accept);
  model.parts.push(layout, ...(style ? [style] : []));
  return model;
}

type Change<T> = (value: T, old: T) => void | Promise<void>;

/** A control with a value: read it, set it, and hear when the learner changes it. */
export abstract class ValueWidget<T> extends Widget {
  /** The current value. */
  abstract get value(): T;

  /** Sets the value here and in the browser, and waits for the change handlers. */
  abstract setValue(value: T): Promise<void>;

  /** `handler(value, old)` runs after every change; returns a function that removes it. */
  abstract onChange(handler: Change<T>): () => void;
}

/** The options every labelled control takes. */
export interface LabelOptions {
  /** The label in front of the control. */
  description?: string;
  /** Whether the learner can change it. */
  disabled?: boolean;
}

/** Sliders' options; `value` must lie in [min, max]. */
export interface SliderOptions extends LabelOptions {
  value: number;
  min: number;
  max: number;
  step?: number;
  /** d3-format of the number shown beside the slider (e.g. ".3f"). */
  readoutFormat?: string;
  /**
   * Whether every position while dragging counts as a change (true), or only where the learner
   * lets go (false, the default here: the lessons' callbacks train or simulate).
   */
  continuousUpdate?: boolean;
}

function checkRange(what: string, value: number, min: number, max: number): void {
  if (![value, min, max].every(Number.isFinite) || min > max) {
    throw new RangeError(`${what}: min (${min}) must not exceed max (${max}), all finite`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${what}: value ${value} is outside [${min}, ${max}]`);
  }
}

const clamp = (x: number, min: number, max: number) => Math.min(max, Math.max(min, x));

/** A number attribute kept in [min, max] (rounded for integer sliders); others as sent. */
function numberAccept(min: () => number, max: () => number, integer: boolean): Accept {
  return (name, value) => {
    if (name !== "value") return value;
    if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
    const kept = clamp(value, min(), max());
    return integer ? Math.round(kept) : kept;
  };
}

/** The lowest and highest value a number widget's model allows. */
type Limits = (model: WidgetModel) => [number, number];
const ownLimits: Limits = (model) => [model.get("min") as number, model.get("max") as number];

class NumberWidget extends ValueWidget<number> {
  readonly model: WidgetModel;

  constructor(
    private readonly kind: string,
    model: string,
    state: Json,
    integer: boolean,
    private readonly limits: Limits = ownLimits,
  ) {
    super();
    const min = () => limits(this.model)[0];
    const max = () => limits(this.model)[1];
    const style = styleModel("SliderStyleModel", {
      description_width: "initial",
      handle_color: null,
    });
    this.model = domModel(model, state, style, numberAccept(min, max, integer));
  }

  get value(): number {
    return this.model.get("value") as number;
  }

  async setValue(value: number): Promise<void> {
    checkRange(this.kind, value, ...this.limits(this.model));
    await this.model.set({ value });
  }

  onChange(handler: Change<number>): () => void {
    return this.model.observe("value", (v, old) => handler(v as number, old as number));
  }

  toString(): string {
    const label = this.model.get("description") as string;
    return `${this.kind}(${label ? `${label} = ` : ""}${this.value})`;
  }
}

function sliderState(options: SliderOptions, readout: string, step: number): Json {
  return {
    description: options.description ?? "",
    description_allow_html: false,
    disabled: options.disabled ?? false,
    behavior: "drag-tap",
    continuous_update: options.continuousUpdate ?? false,
    orientation: "horizontal",
    readout: true,
    readout_format: options.readoutFormat ?? readout,
    min: options.min,
    max: options.max,
    step,
    value: options.value,
  };
}

/** A slider over real numbers (ipywidgets' FloatSlider). */
export function floatSlider(options: SliderOptions): ValueWidget<number> {
  checkRange("floatSlider", options.value, options.min, options.max);
  const step = options.step ?? (options.max - options.min) / 100;
  const state = sliderState(options, ".3g", step);
  return new NumberWidget("floatSlider", "FloatSliderModel", state, false);
}

/** A slider over whole numbers (ipywidgets' IntSlider). */
export function intSlider(options: SliderOptions): ValueWidget<number> {
  checkRange("intSlider", options.value, options.min, options.max);
  const whole = [options.value, options.min, options.max, options.step ?? 1];
  if (!whole.every(Number.isInteger)) {
    throw new RangeError(`intSlider: value, min, max and step must be whole numbers`);
  }
  const state = sliderState(options, "d", options.step ?? 1);
  return new NumberWidget("intSlider", "IntSliderModel", state, true);
}

/** A log slider's options: `min`, `max` and `value` are the values themselves (e.g. 1e-4 to 1). */
export interface LogSliderOptions extends Omit<SliderOptions, "step"> {
  /** The base of the scale (default 10). */
  base?: number;
  /** Positions per power of the base (default 10: 0.01, 0.0126, 0.0158, ... 0.1). */
  stepsPerPower?: number;
}

/**
 * A slider whose positions are powers (ipywidgets' FloatLogSlider): the way to choose a learning
 * rate, where 0.001 and 0.01 are as far apart as 0.01 and 0.1.
 */
export function logSlider(options: LogSliderOptions): ValueWidget<number> {
  const base = options.base ?? 10;
  if (!(options.min > 0) || !(base > 1)) {
    throw new RangeError(
      `logSlider: min must be above 0 and base above 1 (got ${options.min}, ${base})`,
    );
  }
  checkRange("logSlider", options.value, options.min, options.max);
  // 12 digits: log(1e-4) / log(10) is -3.9999999999999996, and the slider should end at -4.
  const exponent = (x: number) => Number((Math.log(x) / Math.log(base)).toPrecision(12));
  const state = {
    ...sliderState(options, ".3g", 1 / (options.stepsPerPower ?? 10)),
    base,
    min: exponent(options.min),
    max: exponent(options.max),
  };
  // The model's min and max are exponents; its value is the number itself.
  const limits: Limits = () => [options.min, options.max];
  return new NumberWidget("logSlider", "FloatLogSliderModel", state, false, limits);
}

/**
 * A dropdown's options: values shown as themselves (strings), or [label, value] pairs; `value` is
 * one of the values (default: the first).
 */
export interface DropdownOptions<T> extends LabelOptions {
  options: ReadonlyArray<T | readonly [string, T]>;
  value?: T;
}

class Dropdown<T> extends ValueWidget<T> {
  readonly model: WidgetModel;
  private readonly values: T[];

  constructor(options: DropdownOptions<T>) {
    super();
    const pairs = options.options.map((o) =>
      Array.isArray(o) ? (o as readonly [string, T]) : ([String(o), o as T] as const),
    );
    if (!pairs.length) throw new RangeError("dropdown: options must not be empty");
    this.values = pairs.map(([, v]) => v);
    const index = options.value === undefined ? 0 : this.indexOf(options.value);
    const count = pairs.length;
    const accept: Accept = (name, value) => {
      if (name !== "index") return value;
      const ok = Number.isInteger(value) && (value as number) >= 0 && (value as number) < count;
      return ok ? value : undefined;
    };
    const state = {
      description: options.description ?? "",
      description_allow_html: false,
      disabled: options.disabled ?? false,
      _options_labels: pairs.map(([label]) => label),
      index,
    };
    this.model = domModel("DropdownModel", state, styleModel("DescriptionStyleModel"), accept);
  }

  private indexOf(value: T): number {
    const index = this.values.findIndex((v) => Object.is(v, value));
    if (index < 0) throw new RangeError(`dropdown: ${String(value)} is not one of the options`);
    return index;
  }

  get value(): T {
    return this.values[this.model.get("index") as number]!;
  }

  async setValue(value: T): Promise<void> {
    await this.model.set({ index: this.indexOf(value) });
  }

  onChange(handler: Change<T>): () => void {
    return this.model.observe("index", (i, old) =>
      handler(this.values[i as number]!, this.values[old as number]!),
    );
  }

  toString(): string {
    return `dropdown(${String(this.value)})`;
  }
}

/** A choice among a few options (ipywidgets' Dropdown). */
export function dropdown<const T>(options: DropdownOptions<T>): ValueWidget<T> {
  return new Dropdown(options);
}

class Checkbox extends ValueWidget<boolean> {
  readonly model: WidgetModel;

  constructor(options: LabelOptions & { value: boolean }) {
    super();
    const state = {
      description: options.description ?? "",
      description_allow_html: false,
      disabled: options.disabled ?? false,
      indent: false,
      value: options.value,
    };
    const accept: Accept = (name, value) =>
      name !== "value" || typeof value === "boolean" ? value : undefined;
    const style = styleModel("CheckboxStyleModel", {
      description_width: "initial",
      background: null,
    });
    this.model = domModel("CheckboxModel", state, style, accept);
  }

  get value(): boolean {
    return this.model.get("value") as boolean;
  }

  setValue(value: boolean): Promise<void> {
    return this.model.set({ value });
  }

  onChange(handler: Change<boolean>): () => void {
    return this.model.observe("value", (v, old) => handler(v as boolean, old as boolean));
  }

  toString(): string {
    return `checkbox(${this.model.get("description")} = ${this.value})`;
  }
}

/** A yes/no switch (ipywidgets' Checkbox). */
export function checkbox(options: LabelOptions & { value: boolean }): ValueWidget<boolean> {
  return new Checkbox(options);
}

/** A button; `onClick` handlers run in the kernel when the learner presses it. */
export class Button extends Widget {
  readonly model: WidgetModel;

  constructor(options: { description: string; tooltip?: string; disabled?: boolean }) {
    super();
    const state = {
      description: options.description,
      disabled: options.disabled ?? false,
      button_style: "",
      icon: "",
      tooltip: options.tooltip ?? null,
    };
    this.model = domModel(
      "ButtonModel",
      state,
      styleModel("ButtonStyleModel", { button_color: null }),
    );
  }

  /** `handler()` runs on each press; returns a function that removes it. */
  onClick(handler: () => void | Promise<void>): () => void {
    return this.model.onCustom((content) => (content.event === "click" ? handler() : undefined));
  }

  /** Presses the button from code (runs the click handlers), as a test or a script would. */
  async click(): Promise<void> {
    await this.model.receiveCustom({ event: "click" });
  }

  toString(): string {
    return `button(${this.model.get("description")})`;
  }
}

/** A button (ipywidgets' Button). */
export function button(options: { description: string; tooltip?: string }): Button {
  return new Button(options);
}

/** One output of an output area, in the notebook format's shape. */
type OutputItem = Json & { output_type: string };

/**
 * An area whose contents the kernel replaces (ipywidgets' Output): charts and tables that a
 * control redraws. Its outputs are part of the widget's state, so a saved notebook keeps them.
 */
export class Output extends Widget {
  readonly model: WidgetModel;
  private readonly displayIds = new Map<string, number>();

  constructor() {
    super();
    const state = { msg_id: "", outputs: [] };
    const layout = layoutModel();
    this.model = new WidgetModel(
      { ...OUTPUT, name: "OutputModel" },
      { ...OUTPUT, name: "OutputView" },
      { _dom_classes: [], layout: ref(layout), tabbable: null, tooltip: null, ...state },
    );
    this.model.parts.push(layout);
  }

  /** The outputs shown now. */
  get outputs(): readonly OutputItem[] {
    return this.model.get("outputs") as OutputItem[];
  }

  /** Replaces what the area shows. */
  async replace(items: readonly OutputItem[]): Promise<void> {
    this.displayIds.clear();
    await this.model.set({ outputs: [...items] });
  }

  /** Empties the area. */
  clear(): Promise<void> {
    return this.replace([]);
  }

  /**
   * Runs `fn`, collecting what it displays (show, plot, table, progress bars) as this area's new
   * contents; the previous contents stay until `fn` ends, so a redraw does not flicker.
   */
  async capture<T>(fn: () => T | Promise<T>): Promise<{ value: T; items: OutputItem[] }> {
    const items: OutputItem[] = [];
    const ids = new Map<string, number>();
    const sink: Writer = (bundle, { displayId, update }) => {
      const item = { output_type: "display_data", data: bundle, metadata: {} };
      const at = displayId !== undefined ? ids.get(displayId) : undefined;
      if (update && at !== undefined) items[at] = item;
      else {
        if (displayId !== undefined) ids.set(displayId, items.length);
        items.push(item);
      }
    };
    const value = await captureDisplays(sink, fn);
    return { value, items };
  }

  toString(): string {
    return `output(${this.outputs.length} item(s))`;
  }
}

/** An output area (ipywidgets' Output). */
export function output(): Output {
  return new Output();
}

/** Widgets in a row or a column. */
export class Box extends Widget {
  readonly model: WidgetModel;

  constructor(
    readonly children: readonly Widget[],
    direction: "row" | "column",
  ) {
    super();
    const name = direction === "row" ? "HBoxModel" : "VBoxModel";
    const state = { box_style: "", children: children.map((c) => ref(c.model)) };
    this.model = domModel(name, state, null);
  }

  toString(): string {
    return this.children.map(String).join("\n");
  }
}

/** Widgets side by side (ipywidgets' HBox). */
export const hbox = (...children: Widget[]): Box => new Box(children, "row");
/** Widgets one under another (ipywidgets' VBox). */
export const vbox = (...children: Widget[]): Box => new Box(children, "column");
