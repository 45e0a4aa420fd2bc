/**
 * Jupyter widgets against the project's kernel over the real protocol: kernel/tests/widgets.py
 * plays JupyterLab's widget manager (jupyter_client) and this file checks what came back.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { driveKernel } from "./support/kernel-driver";

interface Msg {
  type: string;
  content: Record<string, any>;
  parent_id?: string;
  parent_type?: string;
}
interface Step {
  msg_id: string;
  reply?: { type: string; content: Record<string, any> };
  iopub: Msg[];
  timed_out: boolean;
}
type Results = Record<string, Step>;

const drive = () => driveKernel<Results>("widgets.py");

const opens = (step: Step) => step.iopub.filter((m) => m.type === "comm_open");
const modelOf = (m: Msg) => m.content.data.state._model_name as string;
const opened = (step: Step, model: string) => opens(step).find((m) => modelOf(m) === model)!;
const messages = (step: Step, commId: string) =>
  step.iopub.filter((m) => m.type === "comm_msg" && m.content.comm_id === commId);
const result = (step: Step) => step.iopub.find((m) => m.type === "execute_result")?.content.data;
/** The y values of the chart an output model shows. */
function chartY(update: Msg): number[] {
  const outputs = update.content.data.state.outputs as Array<{ data: Record<string, any> }>;
  return outputs[0]!.data["application/vnd.plotly.v1+json"].data[0].y;
}

let r: Results;
beforeAll(async () => {
  r = await drive();
}, 300_000);

describe("a slider", () => {
  it("opens its layout, style and slider models on jupyter.widget, protocol 2.1.0", () => {
    const names = opens(r.slider!).map(modelOf).sort();
    expect(names).toEqual(["FloatSliderModel", "LayoutModel", "SliderStyleModel"]);
    for (const m of opens(r.slider!)) expect(m.content.target_name).toBe("jupyter.widget");
    const slider = opened(r.slider!, "FloatSliderModel").content.data.state;
    expect(slider).toMatchObject({
      _model_module: "@jupyter-widgets/controls",
      _model_module_version: "2.0.0",
      _view_name: "FloatSliderView",
      value: 0.5,
      min: 0,
      max: 1,
      description: "lr",
    });
    const layout = opened(r.slider!, "LayoutModel").content.comm_id;
    expect(slider.layout).toBe(`IPY_MODEL_${layout}`);
  });

  it("is the cell's result as a widget view, with text for other front ends", () => {
    const id = opened(r.slider!, "FloatSliderModel").content.comm_id;
    expect(result(r.slider!)).toEqual({
      "application/vnd.jupyter.widget-view+json": {
        version_major: 2,
        version_minor: 0,
        model_id: id,
      },
      "text/plain": "floatSlider(lr = 0.5)",
    });
  });

  it("takes the front end's value, echoes it to the message that moved it, and the kernel sees it", () => {
    const [echo] = r.moved!.iopub;
    expect(echo!.type).toBe("comm_msg");
    expect(echo!.content.data).toEqual({
      method: "echo_update",
      state: { value: 0.75 },
      buffer_paths: [],
    });
    expect(echo!.parent_id).toBe(r.moved!.msg_id);
    expect(result(r.value_after_move!)!["text/plain"]).toBe("0.75");
  });

  it("clamps a value past its end and echoes the value it kept", () => {
    expect(r.moved_too_far!.iopub[0]!.content.data.state).toEqual({ value: 1 });
    expect(result(r.value_after_too_far!)!["text/plain"]).toBe("1");
  });

  it("answers request_state with its whole state, and sends what the kernel sets", () => {
    const [reply] = r.request_state!.iopub;
    expect(reply!.content.data.method).toBe("update");
    expect(reply!.content.data.state).toMatchObject({ _model_name: "FloatSliderModel", value: 1 });
    const [set] = r.set_from_kernel!.iopub;
    expect(set!.content.data).toEqual({
      method: "update",
      state: { value: 0.25 },
      buffer_paths: [],
    });
  });
});

describe("interact", () => {
  it("shows a column of its controls and an output area holding the first drawing", () => {
    const box = opened(r.interact!, "VBoxModel");
    const output = opened(r.interact!, "OutputModel").content.comm_id;
    const slider = opened(r.interact!, "FloatLogSliderModel").content.comm_id;
    const rule = opened(r.interact!, "DropdownModel").content.comm_id;
    const children = [slider, rule, output].map((id) => `IPY_MODEL_${id}`);
    expect(box.content.data.state.children).toEqual(children);
    const shown = r.interact!.iopub.find((m) => m.type === "execute_result")!;
    expect(shown.content.data["application/vnd.jupyter.widget-view+json"].model_id).toBe(
      box.content.comm_id,
    );
    expect(chartY(messages(r.interact!, output).at(-1)!)).toEqual([0.01, 0.02]);
  });

  it("interact() shows the widgets once, drawn, and returns nothing to show again", () => {
    const step = r.interact_fn!;
    const shown = step.iopub.filter((m) => m.type === "display_data");
    expect(shown).toHaveLength(1);
    expect(step.iopub.some((m) => m.type === "execute_result")).toBe(false);
    const slider = opened(step, "IntSliderModel").content.data.state;
    expect(slider).toMatchObject({ min: 0, max: 10, value: 5, description: "n" });
    const output = opened(step, "OutputModel").content.comm_id;
    const drawn = messages(step, output).at(-1)!.content.data.state.outputs;
    expect(drawn).toEqual([
      { output_type: "display_data", data: { "text/plain": "10" }, metadata: {} },
    ]);
  });

  it("log slider: exponents for the ends, the value itself", () => {
    const state = opened(r.interact!, "FloatLogSliderModel").content.data.state;
    expect(state).toMatchObject({ base: 10, min: -4, max: 0, value: 0.01 });
    expect(opened(r.interact!, "DropdownModel").content.data.state._options_labels).toEqual([
      "sgd",
      "adam",
    ]);
  });

  it("redraws in the kernel when the front end moves a control, under that message", () => {
    const output = opened(r.interact!, "OutputModel").content.comm_id;
    const redraw = messages(r.interact_moved!, output);
    expect(redraw).toHaveLength(1);
    expect(chartY(redraw[0]!)).toEqual([0.1, 0.2]);
    expect(redraw[0]!.parent_id).toBe(r.interact_moved!.msg_id);
    expect(result(r.interact_seen!)!["text/plain"]).toBe("[ 0.01, 0.1 ]");
    const ruleRedraw = messages(r.interact_rule!, output)[0]!;
    const trace = ruleRedraw.content.data.state.outputs[0].data["application/vnd.plotly.v1+json"];
    expect(trace.data[0].name).toBe("adam");
  });
});

describe("a button and the control comm", () => {
  it("runs its click handlers for the front end's custom click message", () => {
    expect(result(r.clicks!)!["text/plain"]).toBe("1");
  });

  it("comm_info lists the widget models", () => {
    const comms = r.comm_info!.reply!.content.comms as Record<string, { target_name: string }>;
    const ids = opens(r.slider!).map((m) => m.content.comm_id);
    for (const id of ids) expect(comms[id]).toEqual({ target_name: "jupyter.widget" });
  });

  it("answers a reloaded page's request_states with every live model", () => {
    const [reply] = r.request_states!.iopub;
    expect(reply!.content.data.method).toBe("update_states");
    const states = reply!.content.data.states as Record<string, Record<string, unknown>>;
    const slider = opened(r.slider!, "FloatSliderModel").content.comm_id;
    expect(states[slider]).toMatchObject({ _model_name: "FloatSliderModel", value: 0.25 });
    expect(Object.keys(states).length).toBeGreaterThanOrEqual(opens(r.interact!).length);
  });
});
