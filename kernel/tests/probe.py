"""Executes cells on the project's kernel over the real Jupyter protocol (jupyter_client) and
prints, as JSON, what a front end receives for each: reply status, error fields, output types.

usage: probe.py CELLS_JSON CWD OUT_JSON
  CELLS_JSON is [{"code": "...", "interrupt_after": seconds?, "interrupt_on": "text"?}, ...]:
  interrupt_after sends an interrupt that many seconds after the request, interrupt_on as soon as
  the cell prints that text. For interrupted cells "seconds_to_reply" says how long the kernel
  took from the interrupt to the execute reply.
"""
import json
import queue
import sys
import threading
import time

import jupyter_client


def run_cell(km, kc, cell):
    """Executes one cell; returns what the front end got, status "timeout" if the kernel went quiet."""
    msg_id = kc.execute(cell["code"])
    interrupted_at = []

    def interrupt():
        interrupted_at.append(time.monotonic())
        km.interrupt_kernel()

    if cell.get("interrupt_after"):
        threading.Timer(cell["interrupt_after"], interrupt).start()
    outputs = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=cell.get("timeout", 120))
        except queue.Empty:
            return {"status": "timeout", "outputs": outputs, "code": cell["code"]}
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            break
        if kind in ("stream", "execute_result", "display_data", "update_display_data", "error"):
            outputs.append({"type": kind, **{k: v for k, v in msg["content"].items() if k != "metadata"}})
        if (kind == "stream" and cell.get("interrupt_on") and not interrupted_at
                and cell["interrupt_on"] in msg["content"]["text"]):
            interrupt()
    while True:
        reply = kc.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    replied_at = time.monotonic()
    content = reply["content"]
    return {"status": content["status"], "ename": content.get("ename"), "evalue": content.get("evalue"),
            "traceback": content.get("traceback"), "outputs": outputs,
            "seconds_to_reply": replied_at - interrupted_at[0] if interrupted_at else None}


def main():
    cells = json.loads(sys.argv[1])
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="lesson4-ts", cwd=sys.argv[2])
    results = []
    try:
        for cell in cells:
            results.append(run_cell(km, kc, cell))
            if results[-1]["status"] == "timeout":
                break
    finally:
        km.shutdown_kernel(now=True)
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
