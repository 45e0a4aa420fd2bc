#!/usr/bin/env python3
"""Runs a peer script (argv[1:]) in this process, then prints {"max_rss_kb": ...} so the bench can report the peer's peak memory."""
import json, resource, runpy, sys

script = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    print(json.dumps({"max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
