"""Executes cells on the project's kernel over the real Jupyter protocol (jupyter_client) and
prints, as JSON, what a front end receives for each: reply status, error fields, output types.

usage: probe.py CELLS_JSON CWD OUT_JSON   where CELLS_JSON is [{"code": "...", "interrupt_after": seconds?}, ...]
"""
import json
import sys
import threading

import jupyter_client


def main():
    cells = json.loads(sys.argv[1])
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="lesson4-ts", cwd=sys.argv[2])
    results = []
    try:
        for cell in cells:
            msg_id = kc.execute(cell["code"])
            if cell.get("interrupt_after"):
                threading.Timer(cell["interrupt_after"], km.interrupt_kernel).start()
            outputs = []
            while True:
                msg = kc.get_iopub_msg(timeout=120)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "status" and msg["content"]["execution_state"] == "idle":
                    break
                if kind in ("stream", "execute_result", "display_data", "error"):
                    outputs.append({"type": kind, **{k: v for k, v in msg["content"].items() if k != "metadata"}})
            while True:
                reply = kc.get_shell_msg(timeout=120)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            content = reply["content"]
            results.append({"status": content["status"], "ename": content.get("ename"), "evalue": content.get("evalue"),
                            "traceback": content.get("traceback"), "outputs": outputs})
    finally:
        km.shutdown_kernel(now=True)
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
