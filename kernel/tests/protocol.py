"""Drives the project's kernel over the Jupyter protocol (jupyter_client) through the requests
that tslab alone leaves out, and writes, as JSON, what a front end receives for each step:
history, comm_info, comms opened by the front end and by a cell, input (stdin channel) with and
without allow_stdin and interrupted, is_complete, inspect. test/kernel-protocol.test.ts checks it.

usage: protocol.py CWD OUT_JSON
"""
import json
import queue
import sys
import time

import jupyter_client

TIMEOUT = 60


def log(*what):
    """Progress on stderr, so a hang shows where it is."""
    print(time.strftime("%H:%M:%S"), *what, file=sys.stderr, flush=True)


def summary(msg):
    """What the tests look at of a message: type, content, parent's id and type."""
    return {"type": msg["msg_type"], "content": msg["content"],
            "parent_id": msg["parent_header"].get("msg_id"),
            "parent_type": msg["parent_header"].get("msg_type")}


def collect(kc, msg_id, on_stdin=None, timeout=TIMEOUT):
    """iopub messages caused by request msg_id up to its idle status (stdin requests go to
    on_stdin as they come); returns (messages, stdin requests, timed_out)."""
    messages, stdin = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if on_stdin is not None:
            try:
                request = kc.get_stdin_msg(timeout=0.02)
            except queue.Empty:
                request = None
            if request is not None:
                stdin.append(summary(request))
                on_stdin(request)
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                return messages, stdin, False
            continue
        messages.append(summary(msg))
    return messages, stdin, True


def shell_reply(kc, msg_id, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reply = kc.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        if reply["parent_header"].get("msg_id") == msg_id:
            return {"type": reply["msg_type"], "content": reply["content"]}
    return {"type": "timeout", "content": {}}


def execute(kc, code, on_stdin=None, **options):
    msg_id = kc.execute(code, **options)
    log("execute", repr(code[:60]), options)
    messages, stdin, timed_out = collect(kc, msg_id, on_stdin)
    reply = shell_reply(kc, msg_id)
    return {"code": code, "msg_id": msg_id, "reply": reply, "iopub": messages, "stdin": stdin,
            "timed_out": timed_out}


def request(kc, msg_id):
    """A shell request's reply plus what it published on iopub."""
    log("request", msg_id)
    reply = shell_reply(kc, msg_id)
    messages, _, timed_out = collect(kc, msg_id, timeout=10)
    return {"msg_id": msg_id, "reply": reply, "iopub": messages, "timed_out": timed_out}


def send(kc, msg_type, content):
    """A message the front end sends on shell without waiting for a reply (comm_*)."""
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    log("sent", msg_type, content)
    messages, _, timed_out = collect(kc, msg_id, timeout=20)
    return {"msg_id": msg_id, "iopub": messages, "timed_out": timed_out}


def main():
    cwd, out = sys.argv[1], sys.argv[2]
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="lesson4-ts", cwd=cwd)
    r = {}
    try:
        # History: In[1]..In[5]; In[3] is not stored (store_history false), In[5] fails.
        r["cells"] = [execute(kc, code, **options) for code, options in [
            ("const a = 1;", {}),
            ("a + 1", {}),
            ("a + 100", {"store_history": False}),
            ("a + 2", {}),
            ('throw new Error("fails")', {}),
        ]]
        r["tail"] = request(kc, kc.history(hist_access_type="tail", n=2, raw=True, output=False))
        r["range"] = request(kc, kc.history(hist_access_type="range", session=0, start=2, stop=5,
                                            raw=True, output=True))
        r["range_other_session"] = request(kc, kc.history(hist_access_type="range", session=-1,
                                                          start=1, stop=5, raw=True, output=False))
        execute(kc, "a + 1")
        r["search"] = request(kc, kc.history(hist_access_type="search", pattern="a + ?", raw=True,
                                             output=False))
        r["search_unique"] = request(kc, kc.history(hist_access_type="search", pattern="a + ?",
                                                    unique=True, raw=True, output=False))
        r["search_n"] = request(kc, kc.history(hist_access_type="search", pattern="*a*", n=1,
                                               raw=True, output=False))

        # Comms.
        r["comm_info_empty"] = request(kc, kc.comm_info())
        comms = 'const comms = (globalThis as any)[Symbol.for("lesson4-ts.comms")];\n'
        r["register"] = execute(kc, comms + "\n".join([
            'comms.registerTarget("lesson4-ts.echo", (comm: any, msg: any) => {',
            "  comm.send({ opened_with: msg.data });",
            "  comm.onMsg((data: any) => comm.send({ echo: data }));",
            '  comm.onClose((data: any) => console.log("closed with", JSON.stringify(data)));',
            "});",
        ]))
        echo_id = "frontendcomm0001"
        r["front_open"] = send(kc, "comm_open", {"comm_id": echo_id, "target_name": "lesson4-ts.echo",
                                                 "data": {"hello": 1}})
        r["comm_info_open"] = request(kc, kc.comm_info(target_name="lesson4-ts.echo"))
        r["comm_info_other"] = request(kc, kc.comm_info(target_name="no.such.target"))
        r["front_msg"] = send(kc, "comm_msg", {"comm_id": echo_id, "data": {"n": 2}})
        r["front_close"] = send(kc, "comm_close", {"comm_id": echo_id, "data": {"bye": True}})
        r["comm_info_closed"] = request(kc, kc.comm_info())
        r["unknown_target"] = send(kc, "comm_open", {"comm_id": "frontendcomm0002",
                                                     "target_name": "no.such.target", "data": {}})
        r["cell_open"] = execute(kc, "\n".join([
            'const fromCell = comms.open("lesson4-ts.test", { x: 1 }, { m: "meta" });',
            "fromCell.send({ y: 2 });",
            'fromCell.onMsg((data: any) => fromCell.send({ answer: data.question * 2 }));',
            "fromCell.id",
        ]))
        cell_comm = None
        for m in r["cell_open"]["iopub"]:
            if m["type"] == "comm_open":
                cell_comm = m["content"]["comm_id"]
        r["cell_comm_info"] = request(kc, kc.comm_info())
        r["cell_comm_event"] = send(kc, "comm_msg", {"comm_id": cell_comm, "data": {"question": 21}})
        r["cell_close"] = execute(kc, "fromCell.close({ done: true });\nfromCell.closed")

        # Input from the user.
        ask = 'const input = (globalThis as any)[Symbol.for("lesson4-ts.input")];\n'
        r["input"] = execute(kc, ask + 'console.log("before the question");\n'
                             'const answer: string = await input("name? ");\n`got ${answer}`',
                             on_stdin=lambda req: kc.input("Ada"))
        r["password"] = execute(kc, 'await input("secret: ", { password: true })',
                                on_stdin=lambda req: kc.input("hunter2"))
        r["no_stdin"] = execute(kc, 'await input("name? ")', allow_stdin=False)
        r["input_interrupted"] = execute(kc, 'await input("wait: ");\nconsole.log("after input")',
                                         on_stdin=lambda req: km.interrupt_kernel())
        r["after_interrupt"] = execute(kc, "40 + 2")

        # is_complete.
        r["is_complete"] = {code: request(kc, kc.is_complete(code))["reply"]["content"]
                            for code in ["1 +* 2", "}", "function f() {", "const s = `abc", "1 + 2",
                                         "for (const x of [1]) {\n  if (x) {"]}

        # Inspect a lib function imported through notebooks/lib.
        r["import"] = execute(kc, 'import { fitCollab } from "./lib/collab/index";')
        r["inspect_lib"] = request(kc, kc.inspect("fitCollab", len("fitCollab")))
        code = 'import { fitCollab as fit2 } from "./lib/collab/index";\nfit2'
        r["inspect_same_cell"] = request(kc, kc.inspect(code, len(code)))
        code = "const r = await fitCollab(\n  [], "
        r["inspect_in_call"] = request(kc, kc.inspect(code, len(code)))
        execute(kc, 'import { ImageDataGenerator } from "./lib/vision/augment";')
        r["inspect_class"] = request(kc, kc.inspect("ImageDataGenerator", len("ImageDataGenerator")))
        code = "const g = new ImageDataGenerator("
        r["inspect_constructor"] = request(kc, kc.inspect(code, len(code)))
    finally:
        km.shutdown_kernel(now=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(r, f)


if __name__ == "__main__":
    main()
