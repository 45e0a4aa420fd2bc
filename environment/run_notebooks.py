#!/usr/bin/env python3
"""Executes notebooks through the real Jupyter protocol (nbclient + the project's tslab kernel)
and exports each as an HTML lesson with nbconvert.

usage: run_notebooks.py --out DIR [--timeout SECONDS_PER_CELL] [--rerun] NOTEBOOK.ipynb ...

Writes DIR/NAME.ipynb (executed), DIR/NAME.html and DIR/summary.json; exits 1 if any notebook
failed, naming the notebook, the cell and the error.
"""
import argparse
import asyncio
import json
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.util import ensure_async
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter


def error_from_stderr(stderr):
    """(ename, evalue) from what a kernel printed: a thrown error's "Name: message" line, or a
    TypeScript diagnostic "LINE:COL - message"."""
    for line in stderr.splitlines():
        diagnostic = re.match(r"^(?:\S+ )?(\d+):(\d+) - (.*)$", line)
        if diagnostic:
            return "TypeScriptError", f"line {diagnostic[1]}, column {diagnostic[2]}: {diagnostic[3]}"
        thrown = re.match(r"^\s*(?:Uncaught )?((?:[A-Za-z_$][\w$]*)?(?:Error|Exception)): (.*)$", line)
        if thrown:
            return thrown[1], thrown[2]
    return "Error", stderr.splitlines()[0]


def describe_error(cell, index, reply, rerunning=False):
    """What failed: the cell (0-based index among all cells), the error's name and message, and
    whether it failed when re-run. Uses the error output when the kernel sent one, else the
    reply, else the cell's stderr."""
    content = (reply or {}).get("content", {})
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    stderr = "".join(o.get("text", "") for o in cell.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stderr").strip()
    ename = (error or {}).get("ename") or content.get("ename") or "Error"
    evalue = (error or {}).get("evalue") or content.get("evalue") or ""
    if not evalue.strip() and stderr:
        ename, evalue = error_from_stderr(stderr)
    traceback = "\n".join((error or {}).get("traceback", []) or content.get("traceback", []) or [stderr])
    return {"cell": index, "rerun": rerunning, "execution_count": cell.get("execution_count"), "ename": ename.strip(),
            "evalue": evalue.strip(), "traceback": traceback[-4000:], "source": cell.source.splitlines()[:3]}


TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# The widgets' renderer the template embeds (environment/setup.mjs fetches it).
VENDOR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "vendor")


def export_html(nb, path):
    """Writes the notebook as a self-contained HTML page: environment/templates/lesson4 (nbconvert's
    "lab" template without the CDN/system MathJax and require.js), images and plotly.js embedded."""
    name = os.path.splitext(os.path.basename(path))[0]
    exporter = HTMLExporter(template_name="lesson4", extra_template_basedirs=[TEMPLATES],
                            extra_template_paths=[VENDOR])
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(tmp, path)


def write_notebook(nb, path):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(tmp, path)


MEMORY_PROBE = 'import * as lesson4MemoryProbe from "@tensorflow/tfjs";\nlesson4MemoryProbe.memory().numTensors'


RESET_PLOTLY = 'import { resetPlotlyEmbedding } from "./lib/display/plot";\nresetPlotlyEmbedding();'


async def run_hidden(client, index, source):
    """Executes a cell that is not part of the notebook; returns it with its outputs."""
    probe = nbformat.v4.new_code_cell(source)
    client.nb.cells.append(probe)  # nbclient writes the executed cell back at its index
    try:
        await client.async_execute_cell(probe, index)
    finally:
        client.nb.cells.pop()
    return probe


async def tensors_alive(client, index):
    """The kernel's live tfjs tensor count, from a cell that is not part of the notebook."""
    probe = await run_hidden(client, index, MEMORY_PROBE)
    shown = [o for o in probe.outputs if o.get("output_type") == "execute_result"]
    return int(shown[0]["data"]["text/plain"]) if shown else None


async def execute_and_rerun(client, nb):
    """Runs every cell, then each code cell once more in order, as a learner re-running cells
    does; raises on the first failure (in either pass). Returns the tensor counts after each pass."""
    async with client.async_setup_kernel():
        info = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
        if info and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        after_first = await tensors_alive(client, len(nb.cells))
        client.rerunning = True
        # nbclient sends no cell ids, so the kernel cannot tell that the cell whose output carried
        # plotly.js is running again: the re-run's first chart embeds it anew.
        await run_hidden(client, len(nb.cells), RESET_PLOTLY)
        for index, cell in enumerate(nb.cells):
            await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        after_rerun = await tensors_alive(client, len(nb.cells))
        client.set_widgets_metadata()  # as client.execute() does: the widgets' state for the HTML
    return {"tensors_after_run": after_first, "tensors_after_rerun": after_rerun}


def run_one(path, out_dir, kernel, timeout, rerun=False):
    name = os.path.splitext(os.path.basename(path))[0]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    failures = []
    client.rerunning = False
    client.on_cell_error = lambda cell, cell_index, execute_reply: failures.append(
        (cell, cell_index, execute_reply, client.rerunning))
    running = {}  # the cell being executed, to name it when it times out
    client.on_cell_start = lambda cell, cell_index: running.update(cell=cell, index=cell_index)
    started = time.time()
    error = None
    rerun_report = None
    try:
        if rerun:
            rerun_report = asyncio.run(execute_and_rerun(client, nb))
        else:
            client.execute()
    except CellExecutionError as exc:
        error = (describe_error(*failures[0]) if failures
                 else {"cell": None, "ename": "CellExecutionError", "evalue": str(exc)[-2000:]})
    except CellTimeoutError:
        cell = running.get("cell")
        first = (cell.source.strip().splitlines() or [""])[0][:100] if cell else ""
        error = {"cell": running.get("index"), "ename": "CellTimeoutError",
                 "evalue": f"no reply from the kernel within {timeout} s (the cell starts: {first!r}); "
                           f"set LESSON4_CELL_TIMEOUT to allow a slower cell more time"}
    except DeadKernelError as exc:
        error = {"cell": None, "ename": "DeadKernelError", "evalue": str(exc)[-2000:]}
    seconds = time.time() - started
    nb.metadata.setdefault("lesson4", {})
    nb.metadata["lesson4"].update({"seconds": round(seconds, 1), "status": "failed" if error else "ok",
                                   "error": {k: error.get(k) for k in ("cell", "ename", "evalue")} if error else None})
    write_notebook(nb, os.path.join(out_dir, name + ".ipynb"))
    export_html(nb, os.path.join(out_dir, name + ".html"))
    return {"notebook": path, "name": name, "status": "failed" if error else "ok",
            "seconds": round(seconds, 1), "error": error, "rerun": rerun_report}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--kernel", default="lesson4-ts")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--summary", default="summary.json")
    parser.add_argument("--rerun", action="store_true",
                        help="after running a notebook, re-run each code cell once more in order")
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = []
    for path in args.notebooks:
        print(f"running {path} ...", flush=True)
        result = run_one(path, args.out, args.kernel, args.timeout, args.rerun)
        results.append(result)
        if result["error"]:
            e = result["error"]
            where = f"cell {e['cell']}" if e.get("cell") is not None else "(no cell)"
            where += " (re-run)" if e.get("rerun") else ""
            print(f"FAILED {path} {where}: {e['ename']}: {e['evalue']}", flush=True)
        else:
            tensors = result["rerun"] and " (tensors after the run {tensors_after_run}, after the re-run {tensors_after_rerun})".format(**result["rerun"])
            print(f"ok     {path} in {result['seconds']} s{tensors or ''}", flush=True)
    summary_path = os.path.join(args.out, args.summary)
    with open(summary_path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    os.replace(summary_path + ".tmp", summary_path)
    failed = [r for r in results if r["status"] != "ok"]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
