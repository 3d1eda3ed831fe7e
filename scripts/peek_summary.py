#!/usr/bin/env python3
"""scripts/peek_summary.py: `weft peek --goroutines` JSON (stdin) as a few
lines: how many goroutines were seen, and the busiest with where they
spent their time blocked. The demo prints it."""
import json
import sys

s = json.loads(sys.stdin.read())
print(f"    {s['goroutines']} goroutines seen in {s['instrumented_ms']:.0f} ms of instrumentation; the busiest:")
for g in s["listed"]:
    why = ", ".join(f"{b['reason']} {b['ms']:.0f} ms" for b in g["blocked_by"][:2]) or "-"
    name = g["name"] or ("(main)" if g["id"] == 1 else "(unnamed)")
    print(f"    goroutine {g['id']:>3} {name:<32} running {g['running_ms']:6.2f} ms, blocked: {why}")
