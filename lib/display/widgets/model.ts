/**
 * One Jupyter widget model kept in step with the front end over a comm: the ipywidgets 8 message
 * protocol (version 2.1.0), which JupyterLab's widget manager (jupyterlab_widgets 3) renders.
 * Outside the project's kernel a model still holds its state and calls its observers, so lib code
 * and scripts run the same way; nothing is sent.
 */
import { randomUUID } from "crypto";
import { kernelComms, type Comm, type CommEvent, type Comms, type Json } from "./comm";
import type { MimeBundle } from "../show";

/** The widget message protocol spoken here: ipywidgets 8's. */
export const PROTOCOL_VERSION = "2.1.0";
/** The comm target JupyterLab's widget manager listens on. */
export const WIDGET_TARGET = "jupyter.widget";
/** The comm target through which a front end asks for every model's state at once (page reload). */
export const CONTROL_TARGET = "jupyter.widget.control";

/** A front-end class: the npm module that defines it, its version and its name. */
export interface ClassRef {
  module: string;
  version: string;
  name: string;
}

export const CONTROLS = { module: "@jupyter-widgets/controls", version: "2.0.0" };
export const BASE = { module: "@jupyter-widgets/base", version: "2.0.0" };
export const OUTPUT = { module: "@jupyter-widgets/output", version: "1.0.0" };

/** What a model keeps of a value the front end sent: the value, changed, or undefined (refused). */
export type Accept = (name: string, value: unknown) => unknown;

type Observer = (value: unknown, old: unknown) => void | Promise<void>;

// Live models by id, on globalThis: notebooks load lib through ./lib and the kernel through its
// real path, two module instances that must answer the front end from one registry.
const REGISTRY = Symbol.for("lesson4-ts.widget-models");
function registry(): Map<string, WidgetModel> {
  const g = globalThis as Record<symbol, unknown>;
  return (g[REGISTRY] ??= new Map<string, WidgetModel>()) as Map<string, WidgetModel>;
}

/** The models alive in this kernel, by id (what a reloaded page asks for). */
export function liveModels(): ReadonlyMap<string, WidgetModel> {
  return registry();
}

const controlTargets = new WeakSet<Comms>();

/** Answers a front end's request_states with every live model's state. */
function registerControlTarget(comms: Comms): void {
  if (controlTargets.has(comms)) return;
  controlTargets.add(comms);
  comms.registerTarget(CONTROL_TARGET, (comm) => {
    comm.onMsg((data) => {
      if (data.method !== "request_states") return;
      const states: Json = {};
      for (const [id, model] of registry()) states[id] = model.fullState();
      comm.send({ method: "update_states", states, buffer_paths: {} });
    });
  });
}

/** One widget model: its synced state, its comm, and who observes which attribute. */
export class WidgetModel {
  readonly id: string;
  private readonly comm: Comm | null;
  private readonly state: Json;
  private readonly observers = new Map<string, Set<Observer>>();
  private readonly customHandlers = new Set<(content: Json) => void | Promise<void>>();

  /**
   * @param accept the value to keep for an attribute the front end set, or undefined to refuse
   *   it (sliders clamp and round here, as their ipywidgets counterparts validate)
   */
  constructor(
    model: ClassRef,
    view: ClassRef | null,
    state: Json,
    private readonly accept: Accept = (_name, value) => value,
  ) {
    this.state = {
      _model_module: model.module,
      _model_module_version: model.version,
      _model_name: model.name,
      _view_module: view?.module ?? null,
      _view_module_version: view?.version ?? "",
      _view_name: view?.name ?? null,
      _view_count: null,
      ...state,
    };
    const comms = kernelComms();
    if (comms) {
      registerControlTarget(comms);
      const data = { state: this.state, buffer_paths: [] };
      this.comm = comms.open(WIDGET_TARGET, data, { version: PROTOCOL_VERSION });
      this.id = this.comm.id;
      this.comm.onMsg((msg, event) => this.receive(msg, event));
      this.comm.onClose(() => void registry().delete(this.id));
    } else {
      this.comm = null;
      this.id = randomUUID().replace(/-/g, "");
    }
    registry().set(this.id, this);
  }

  /** Whether a front end can see this model (it runs in the project's kernel and is open). */
  get live(): boolean {
    return this.comm !== null && !this.comm.closed;
  }

  /** One attribute's current value. */
  get(name: string): unknown {
    return this.state[name];
  }

  /** Every attribute, as the front end and the saved notebook hold them. */
  fullState(): Json {
    return { ...this.state };
  }

  /** Changes attributes here and on the front end, then tells their observers. */
  async set(changes: Json): Promise<void> {
    const olds = this.apply(changes);
    if (this.live) this.comm!.send({ method: "update", state: changes, buffer_paths: [] });
    await this.notify(changes, olds);
  }

  /** `handler(value, old)` runs after `name` changes, from either side; returns an unsubscribe. */
  observe(name: string, handler: Observer): () => void {
    const set = this.observers.get(name) ?? new Set<Observer>();
    set.add(handler);
    this.observers.set(name, set);
    return () => void set.delete(handler);
  }

  /** `handler(content)` runs for the front end's custom messages (a button's click). */
  onCustom(handler: (content: Json) => void | Promise<void>): () => void {
    this.customHandlers.add(handler);
    return () => void this.customHandlers.delete(handler);
  }

  /** Models this one refers to and that live and die with it (a control's layout and style). */
  readonly parts: WidgetModel[] = [];

  /** Closes the model's comm, and its parts'; its views in the front end stop working. */
  close(): void {
    for (const part of this.parts) part.close();
    registry().delete(this.id);
    this.comm?.close();
  }

  /** Display data for a view of this model, with `text` for front ends without widgets. */
  viewBundle(text: string): MimeBundle {
    const view = { version_major: 2, version_minor: 0, model_id: this.id };
    return { "application/vnd.jupyter.widget-view+json": view, "text/plain": text };
  }

  private apply(changes: Json): Json {
    const olds: Json = {};
    for (const [name, value] of Object.entries(changes)) {
      olds[name] = this.state[name];
      this.state[name] = value;
    }
    return olds;
  }

  private async notify(changes: Json, olds: Json): Promise<void> {
    for (const name of Object.keys(changes)) {
      if (Object.is(changes[name], olds[name])) continue;
      for (const handler of [...(this.observers.get(name) ?? [])]) {
        await handler(changes[name], olds[name]);
      }
    }
  }

  /** A front end's comm_msg: update (echoed back, as ipywidgets 8 does), request_state, custom. */
  private async receive(data: Json, _event: CommEvent): Promise<void> {
    if (data.method === "update") {
      const accepted: Json = {};
      for (const [name, value] of Object.entries((data.state as Json) ?? {})) {
        const kept = this.accept(name, value);
        if (kept !== undefined) accepted[name] = kept;
      }
      const olds = this.apply(accepted);
      // The echo tells the front end which value the kernel kept (after clamping, for example).
      this.comm!.send({ method: "echo_update", state: accepted, buffer_paths: [] });
      await this.notify(accepted, olds);
    } else if (data.method === "request_state") {
      this.comm!.send({ method: "update", state: this.fullState(), buffer_paths: [] });
    } else if (data.method === "custom") {
      await this.receiveCustom((data.content as Json) ?? {});
    }
  }

  /** Runs the custom-message handlers for `content`, as a front end's message would. */
  async receiveCustom(content: Json): Promise<void> {
    for (const handler of [...this.customHandlers]) await handler(content);
  }
}
