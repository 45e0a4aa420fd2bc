/**
 * lib/display/widgets without a kernel: the messages a widget sends through the kernel's comm API
 * (a recording stand-in for kernel/comms.cjs on globalThis) and what it does with the front end's.
 * test/kernel-widgets.test.ts checks the same over the real protocol.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Comm, Comms, CommEvent, Json } from "../lib/display/widgets/comm";
import {
  button,
  checkbox,
  dropdown,
  floatSlider,
  interactive,
  intSlider,
  logSlider,
  output,
} from "../lib/display/widgets/index";
import { show, setDisplaySink, type MimeBundle } from "../lib/display/show";

type Sent = { comm: string; kind: "open" | "msg" | "close"; data: Json; metadata?: Json };

/** Records what widgets send; `frontEnd(id, data)` plays a front end's comm_msg. */
class RecordingComms implements Comms {
  sent: Sent[] = [];
  private handlers = new Map<string, Array<(data: Json, e: CommEvent) => unknown>>();
  private count = 0;

  registerTarget(): void {}
  unregisterTarget(): void {}
  get(): Comm | null {
    return null;
  }
  list(): Comm[] {
    return [];
  }

  open(targetName: string, data: Json = {}, metadata: Json = {}): Comm {
    const id = `c${++this.count}`;
    this.sent.push({ comm: id, kind: "open", data: { target: targetName, ...data }, metadata });
    const handlers: Array<(data: Json, e: CommEvent) => unknown> = [];
    this.handlers.set(id, handlers);
    const comms = this;
    const comm: Comm = {
      id,
      targetName,
      closed: false,
      send(payload: Json = {}) {
        comms.sent.push({ comm: id, kind: "msg", data: payload });
      },
      onMsg(handler) {
        handlers.push(handler);
        return comm;
      },
      onClose() {
        return comm;
      },
      close() {
        comms.sent.push({ comm: id, kind: "close", data: {} });
      },
    };
    return comm;
  }

  async frontEnd(id: string, data: Json): Promise<void> {
    const event = { data, metadata: {}, buffers: [], header: {} };
    for (const handler of this.handlers.get(id) ?? []) await handler(data, event);
  }

  messagesTo(id: string): Json[] {
    return this.sent.filter((s) => s.comm === id && s.kind === "msg").map((s) => s.data);
  }
}

const KEY = Symbol.for("lesson4-ts.comms");
let comms: RecordingComms;
beforeEach(() => {
  comms = new RecordingComms();
  (globalThis as Record<symbol, unknown>)[KEY] = comms;
});
afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[KEY];
  setDisplaySink(null);
});

describe("a slider", () => {
  it("opens layout, style and its model on jupyter.widget with protocol 2.1.0", () => {
    const s = floatSlider({ value: 0.5, min: 0, max: 1, description: "lr" });
    const opens = comms.sent.filter((m) => m.kind === "open");
    expect(opens.map((m) => (m.data.state as Json)._model_name).sort()).toEqual([
      "FloatSliderModel",
      "LayoutModel",
      "SliderStyleModel",
    ]);
    expect(opens.every((m) => m.data.target === "jupyter.widget")).toBe(true);
    expect(opens.every((m) => m.metadata!.version === "2.1.0")).toBe(true);
    expect(s.model.id).toBe("c3");
    expect(s.toMimeBundle()["application/vnd.jupyter.widget-view+json"]).toEqual({
      version_major: 2,
      version_minor: 0,
      model_id: "c3",
    });
  });

  it("clamps the front end's value, echoes what it kept, and calls onChange once", async () => {
    const s = intSlider({ value: 3, min: 1, max: 10 });
    const seen: Array<[number, number]> = [];
    s.onChange((value, old) => void seen.push([value, old]));
    await comms.frontEnd(s.model.id, {
      method: "update",
      state: { value: 12.4 },
      buffer_paths: [],
    });
    expect(s.value).toBe(10);
    expect(comms.messagesTo(s.model.id)).toEqual([
      { method: "echo_update", state: { value: 10 }, buffer_paths: [] },
    ]);
    expect(seen).toEqual([[10, 3]]);
  });

  it("refuses a value that is not a number, and keeps the old one", async () => {
    const s = floatSlider({ value: 0.5, min: 0, max: 1 });
    await comms.frontEnd(s.model.id, { method: "update", state: { value: "x" } });
    expect(s.value).toBe(0.5);
  });

  it("setValue sends an update, and refuses a value out of range with a clear error", async () => {
    const s = floatSlider({ value: 0.5, min: 0, max: 1 });
    await s.setValue(0.25);
    expect(comms.messagesTo(s.model.id)).toEqual([
      { method: "update", state: { value: 0.25 }, buffer_paths: [] },
    ]);
    await expect(s.setValue(2)).rejects.toThrow(/floatSlider: value 2 is outside \[0, 1\]/);
  });

  it("bad options are a RangeError naming the control", () => {
    expect(() => floatSlider({ value: 2, min: 0, max: 1 })).toThrow(/outside \[0, 1\]/);
    expect(() => intSlider({ value: 1.5, min: 0, max: 3 })).toThrow(/whole numbers/);
    expect(() => logSlider({ value: 0.1, min: 0, max: 1 })).toThrow(/min must be above 0/);
  });

  it("a log slider keeps exponents for its ends and the number itself as its value", async () => {
    const s = logSlider({ value: 0.01, min: 1e-4, max: 1, stepsPerPower: 4 });
    expect(s.model.fullState()).toMatchObject({
      min: -4,
      max: 0,
      base: 10,
      step: 0.25,
      value: 0.01,
    });
    await comms.frontEnd(s.model.id, { method: "update", state: { value: 5 } });
    expect(s.value).toBe(1);
    await s.setValue(1e-4);
    expect(s.value).toBe(1e-4);
  });

  it("answers request_state with the whole state", async () => {
    const s = floatSlider({ value: 0.5, min: 0, max: 1 });
    await comms.frontEnd(s.model.id, { method: "request_state" });
    const [reply] = comms.messagesTo(s.model.id);
    expect(reply!.method).toBe("update");
    expect(reply!.state).toMatchObject({ _model_name: "FloatSliderModel", value: 0.5 });
  });
});

describe("choices, switches and buttons", () => {
  it("a dropdown syncs the chosen index and gives the value", async () => {
    const d = dropdown({
      options: [
        ["one", 1],
        ["two", 2],
      ] as const,
      value: 2,
    });
    expect(d.model.fullState()).toMatchObject({ _options_labels: ["one", "two"], index: 1 });
    expect(d.value).toBe(2);
    await comms.frontEnd(d.model.id, { method: "update", state: { index: 0 } });
    expect(d.value).toBe(1);
    await comms.frontEnd(d.model.id, { method: "update", state: { index: 7 } });
    expect(d.value).toBe(1);
    expect(() => dropdown({ options: ["a"], value: "b" })).toThrow(/not one of the options/);
  });

  it("a checkbox takes booleans only", async () => {
    const c = checkbox({ value: false, description: "x" });
    await comms.frontEnd(c.model.id, { method: "update", state: { value: 1 } });
    expect(c.value).toBe(false);
    await comms.frontEnd(c.model.id, { method: "update", state: { value: true } });
    expect(c.value).toBe(true);
  });

  it("a button runs its click handlers for the front end's custom message", async () => {
    const b = button({ description: "go" });
    let clicks = 0;
    b.onClick(() => void clicks++);
    await comms.frontEnd(b.model.id, { method: "custom", content: { event: "click" } });
    await b.click();
    expect(clicks).toBe(2);
  });
});

describe("output areas and interact", () => {
  it("an output area collects what a callback shows, updates of one display replacing it", async () => {
    const o = output();
    const { items } = await o.capture(() => {
      show({ "text/plain": "first" });
      show({ "text/plain": "second" });
    });
    expect(items.map((i) => (i.data as MimeBundle)["text/plain"])).toEqual(["first", "second"]);
    await o.replace(items);
    expect(o.outputs).toHaveLength(2);
  });

  it("interact draws, then redraws with the latest values; the last of quick changes wins", async () => {
    const calls: number[] = [];
    const ui = interactive(
      ({ n }) => {
        calls.push(n);
        return n * 10;
      },
      { n: [0, 10] },
    );
    await ui.draw();
    const output = ui.output.model.id;
    const slider = ui.controls.n.model.id;
    void comms.frontEnd(slider, { method: "update", state: { value: 7 } });
    void comms.frontEnd(slider, { method: "update", state: { value: 8 } });
    await new Promise((r) => setTimeout(r, 0));
    await ui.settled();
    expect(calls[0]).toBe(5);
    expect(calls.at(-1)).toBe(8);
    const last = comms.messagesTo(output).at(-1)!;
    expect(last.state).toEqual({
      outputs: [{ output_type: "display_data", data: { "text/plain": "80" }, metadata: {} }],
    });
  });

  it("a failing redraw shows the error in the area and the controls keep working", async () => {
    const ui = interactive(
      ({ lr }) => {
        if (lr > 0.5) throw new RangeError("lr too high");
        return lr;
      },
      { lr: floatSlider({ value: 0.1, min: 0, max: 1 }) },
    );
    await ui.draw();
    await comms.frontEnd(ui.controls.lr.model.id, { method: "update", state: { value: 0.9 } });
    await ui.settled();
    const [shown] = ui.output.outputs;
    expect(shown).toMatchObject({
      output_type: "error",
      ename: "RangeError",
      evalue: "lr too high",
    });
    await comms.frontEnd(ui.controls.lr.model.id, { method: "update", state: { value: 0.2 } });
    await ui.settled();
    expect(ui.output.outputs[0]).toMatchObject({ output_type: "display_data" });
  });

  it("shorthands: [min, max] of whole numbers an int slider, strings a dropdown, true a checkbox", () => {
    const ui = interactive(() => undefined, {
      k: [1, 9],
      rule: ["sgd", "adam"],
      on: true,
      x: [0, 1, 0.1],
    });
    expect(ui.values).toEqual({ k: 5, rule: "sgd", on: true, x: 0.5 });
    expect(ui.controls.k.model.get("_model_name")).toBe("IntSliderModel");
    expect(ui.controls.rule.model.get("description")).toBe("rule");
  });
});

describe("outside the kernel", () => {
  it("widgets hold their state and call observers, sending nothing", async () => {
    delete (globalThis as Record<symbol, unknown>)[KEY];
    const s = floatSlider({ value: 0.5, min: 0, max: 1, description: "lr" });
    let heard = 0;
    s.onChange(() => void heard++);
    await s.setValue(0.75);
    expect(s.value).toBe(0.75);
    expect(heard).toBe(1);
    expect(s.model.live).toBe(false);
    expect(String(s)).toBe("floatSlider(lr = 0.75)");
  });
});

describe("a cell run again", () => {
  it("closes the widgets of the interact it showed before, layouts and styles included", async () => {
    const cellKey = Symbol.for("lesson4-ts.running-cell");
    const g = globalThis as Record<symbol, unknown>;
    g[cellKey] = { cellId: "cell-a", execution: 1, deletedCells: [] };
    setDisplaySink(() => undefined);
    try {
      const { interact } = await import("../lib/display/widgets/index");
      await interact(({ n }) => n, { n: [0, 4] });
      const first = comms.sent.filter((m) => m.kind === "open").map((m) => m.comm);
      await interact(({ n }) => n, { n: [0, 4] });
      const closed = comms.sent.filter((m) => m.kind === "close").map((m) => m.comm);
      expect(closed.sort()).toEqual([...first].sort());
      g[cellKey] = { cellId: "cell-b", execution: 2, deletedCells: [] };
      await interact(({ n }) => n, { n: [0, 4] });
      expect(comms.sent.filter((m) => m.kind === "close")).toHaveLength(first.length);
    } finally {
      delete g[cellKey];
    }
  });
});
