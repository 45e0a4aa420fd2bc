"""Drives the project's kernel's Jupyter widgets over the real protocol (jupyter_client), as
JupyterLab's widget manager would: a slider's comm_open and view, the front end moving it
(update, echo_update), request_state, an interact redrawing when its slider moves, a button's
click, and a reloaded page's request_states on the control comm. Writes what came back as JSON;
test/kernel-widgets.test.ts checks it.

usage: widgets.py CWD OUT_JSON
"""
import json
import sys

import jupyter_client

from protocol import execute, log, request, send


def opened(result, model_name):
    """The comm ids a step opened for widget models named model_name."""
    return [m["content"]["comm_id"] for m in result["iopub"]
            if m["type"] == "comm_open"
            and m["content"]["data"].get("state", {}).get("_model_name") == model_name]


def update(kc, comm_id, state):
    """The front end's change of a model's attributes (a slider moved)."""
    return send(kc, "comm_msg", {"comm_id": comm_id,
                                 "data": {"method": "update", "state": state, "buffer_paths": []}})


def main():
    cwd, out = sys.argv[1], sys.argv[2]
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="lesson4-ts", cwd=cwd)
    r = {}
    try:
        r["slider"] = execute(kc, "\n".join([
            'import * as w from "./lib/display/widgets/index";',
            'const s = w.floatSlider({ value: 0.5, min: 0, max: 1, description: "lr" });',
            "s",
        ]))
        slider = opened(r["slider"], "FloatSliderModel")[0]
        r["moved"] = update(kc, slider, {"value": 0.75})
        r["value_after_move"] = execute(kc, "s.value")
        r["moved_too_far"] = update(kc, slider, {"value": 5})
        r["value_after_too_far"] = execute(kc, "s.value")
        r["request_state"] = send(kc, "comm_msg", {"comm_id": slider,
                                                   "data": {"method": "request_state"}})
        r["set_from_kernel"] = execute(kc, "await s.setValue(0.25);")

        r["interact"] = execute(kc, "\n".join([
            "const seen: number[] = [];",
            "const ui = w.interactive(({ lr, rule }) => {",
            "  seen.push(lr);",
            '  return { data: [{ x: [1, 2], y: [lr, 2 * lr], name: rule, type: "scatter" }] };',
            '}, { lr: w.logSlider({ value: 0.01, min: 1e-4, max: 1 }), rule: ["sgd", "adam"] });',
            "await ui.draw();",
            "ui",
        ]))
        lr = opened(r["interact"], "FloatLogSliderModel")[0]
        r["interact_moved"] = update(kc, lr, {"value": 0.1})
        r["interact_seen"] = execute(kc, "await ui.settled();\nseen")
        rule = opened(r["interact"], "DropdownModel")[0]
        r["interact_rule"] = update(kc, rule, {"index": 1})

        r["interact_fn"] = execute(kc, "await w.interact(({ n }) => n * 2, { n: [0, 10] });")

        r["button"] = execute(kc, "\n".join([
            'const b = w.button({ description: "train" });',
            "let clicks = 0;",
            "b.onClick(() => { clicks++; });",
            "b",
        ]))
        button = opened(r["button"], "ButtonModel")[0]
        r["click"] = send(kc, "comm_msg", {"comm_id": button, "data": {
            "method": "custom", "content": {"event": "click"}}})
        r["clicks"] = execute(kc, "clicks")

        r["comm_info"] = request(kc, kc.comm_info(target_name="jupyter.widget"))
        control = "frontendcontrol01"
        r["control_open"] = send(kc, "comm_open", {"comm_id": control,
                                                   "target_name": "jupyter.widget.control",
                                                   "data": {}})
        r["request_states"] = send(kc, "comm_msg", {"comm_id": control,
                                                    "data": {"method": "request_states"}})
    finally:
        km.shutdown_kernel(now=True)
    log("done")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(r, f)


if __name__ == "__main__":
    main()
