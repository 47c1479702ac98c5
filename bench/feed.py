#!/usr/bin/env python3
"""feed RATE BURST FED: copy lines from stdin to stdout, the first BURST at
once, then RATE lines a second on a steady clock; FED gets, per line, the
wall-clock time it was written (microseconds) and the record's dedup_key,
tab-separated. Used by scripts/bench-rca; not part of aurora."""
import json
import sys
import time

rate, burst, fed_path = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = sys.stdout.buffer
with open(fed_path, "w") as fed:
    start = None
    for n, line in enumerate(sys.stdin.buffer):
        if n >= burst:
            if start is None:
                start = time.monotonic()
            due = start + (n - burst) / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        out.write(line)
        out.flush()
        key = json.loads(line).get("dedup_key", "")
        fed.write("%d\t%s\n" % (time.time_ns() // 1000, key))
