#!/usr/bin/env bash
# tests/remote/trace_check.sh WEFT TRACE_PROG: `weft remote --trace FILE
# PROG` leaves PROG's stdout and exit status as they are, prints the
# summary table on stderr, and writes a complete trace JSON (the Chrome
# trace-event format) that holds the program's goroutines by name, block
# slices with their reasons, a blocking call, a remote call and channel
# operations.
set -uo pipefail
weft=$1
prog=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

env -u WEFT_RUNTIME "$prog" >"$tmp/d.out" 2>/dev/null; ds=$?
"$weft" remote --trace "$tmp/out.json" "$prog" >"$tmp/r.out" 2>"$tmp/r.err"; rs=$?
if [ "$ds" != 3 ] || [ "$rs" != 3 ]; then echo "FAIL status: $rs under weft remote --trace, $ds directly (want 3)"; fail=1; fi
if ! cmp -s "$tmp/d.out" "$tmp/r.out"; then echo "FAIL stdout differs"; diff "$tmp/d.out" "$tmp/r.out"; fail=1; fi
echo "--- stderr:"; cat "$tmp/r.err"
grep -q "^weft trace: $(basename "$prog") (pid [0-9]*): [0-9]* goroutines created, [0-9]* ended" "$tmp/r.err" \
  || { echo "FAIL no summary line"; fail=1; }
grep -q "longest blocks" "$tmp/r.err" || { echo "FAIL no longest blocks in the summary"; fail=1; }
grep -q "busiest channels" "$tmp/r.err" || { echo "FAIL no busiest channels in the summary"; fail=1; }

python3 - "$tmp/out.json" "$tmp/chan" <<'PY' || fail=1
import json, sys
doc = json.load(open(sys.argv[1]))  # complete, valid JSON
ev = doc["traceEvents"]
def fail(why):
    print("FAIL", why); sys.exit(1)
threads = {e["args"]["name"] for e in ev if e.get("ph") == "M" and e.get("name") == "thread_name"}
procs = [e["args"]["name"] for e in ev if e.get("ph") == "M" and e.get("name") == "process_name"]
for want in ["trace sleeper", 'odd "name"\nline two', "weft: runtime stub tracer", "main"]:  # main predates the trace: named at its first start
    if want not in threads: fail("no track named %r in %r" % (want, sorted(threads)))
if not any("trace_prog (pid " in p for p in procs): fail("no process track: %r" % procs)
reasons = {e["name"] for e in ev if e.get("ph") == "X" and e.get("cat") == "block"}
for want in ["chan receive", "sleep"]:  # (main's wait_group.wait may not park on a slow machine)
    if want not in reasons: fail("no %r block in %r" % (want, sorted(reasons)))
if not any(e.get("cat") == "blocking" and e["name"].startswith("blocking: ") for e in ev): fail("no blocking call")
if not any(e.get("ph") == "X" and e["name"] == "running" for e in ev): fail("no running slice")
names = {e["name"] for e in ev}
if "chan send" not in names or "chan receive" not in names: fail("no channel operations")
begins = {e["id"]: e["name"] for e in ev if e.get("ph") == "b" and e.get("cat") == "remote"}
ends = {e["id"] for e in ev if e.get("ph") == "e" and e.get("cat") == "remote"}
if "ChanSend" not in begins.values() or "ChanRecv" not in begins.values(): fail("no remote calls: %r" % begins)
if not set(begins) <= ends: fail("remote calls without their reply")
for e in ev:
    if e.get("ph") == "X" and e["dur"] < 0: fail("negative duration: %r" % e)
sleeper = [e["tid"] for e in ev if e.get("name") == "thread_name" and e["args"]["name"] == "trace sleeper"][0]
sent = [e["args"]["chan"] for e in ev if e.get("name") == "chan send" and e.get("tid") == sleeper]
if len(sent) != 1: fail("the sleeper's one send: %r" % sent)
open(sys.argv[2], "w").write(sent[0])
print("ok trace: %d events, %d tracks" % (len(ev), len(threads)))
PY
# The summary's busiest channel is the program's (main and the sleeper
# share it), not the stub's doorbell, which the runtime's goroutines use.
want=$(cat "$tmp/chan" 2>/dev/null)
got=$(grep -A1 "busiest channels" "$tmp/r.err" | tail -1 | awk '{print $1}')
if [ -z "$want" ] || [ "$got" != "$want" ]; then echo "FAIL busiest channel $got, want the program's $want"; fail=1; fi
exit $fail
