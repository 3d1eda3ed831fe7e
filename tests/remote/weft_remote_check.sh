#!/usr/bin/env bash
# tests/remote/weft_remote_check.sh WEFT PIPELINE: `weft remote PROG` gives
# the same stdout, stderr and exit status as PROG run directly (DESIGN.md),
# 128 + N when signal N ends it, 127 for a program that cannot be started;
# and a weft program under it is really attached (the runtime server's
# channel carries its jobs).
set -uo pipefail
weft=$1
pipeline=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
same() {  # same NAME CMD...: runs CMD directly and under weft remote
  local name=$1; shift
  cat >"$tmp/in"  # the same stdin for both runs
  "$@" <"$tmp/in" >"$tmp/d.out" 2>"$tmp/d.err"; local ds=$?
  "$weft" remote "$@" <"$tmp/in" >"$tmp/r.out" 2>"$tmp/r.err"; local rs=$?
  if [ "$name" = pipeline ]; then
    # Its producer's and consumers' lines come from goroutines on two
    # threads: their order differs between any two runs, direct or not.
    sort -o "$tmp/d.out" "$tmp/d.out"
    sort -o "$tmp/r.out" "$tmp/r.out"
  fi
  if [ "$ds" != "$rs" ]; then echo "FAIL $name: status $rs under weft remote, $ds directly"; fail=1; fi
  if ! cmp -s "$tmp/d.out" "$tmp/r.out"; then echo "FAIL $name: stdout differs"; diff "$tmp/d.out" "$tmp/r.out" | head; fail=1; fi
  if ! cmp -s "$tmp/d.err" "$tmp/r.err"; then echo "FAIL $name: stderr differs"; diff "$tmp/d.err" "$tmp/r.err" | head; fail=1; fi
  echo "done $name (status $rs)"
}
same exit7 sh -c 'echo out; echo err >&2; exit 7' </dev/null
same sigterm sh -c 'kill -TERM $$' </dev/null
same stdin sh -c 'read x; echo "got $x"' <<<"line"
same pipeline env -u WEFT_RUNTIME "$pipeline" both 200 </dev/null
"$weft" remote ./no-such-program 2>/dev/null
s=$?; if [ $s -ne 127 ]; then echo "FAIL: a missing program gave status $s, want 127"; fail=1; else echo "ok missing program (127)"; fi
out=$("$weft" remote "$pipeline" both 300)
if ! grep -q "through the runtime server" <<<"$out"; then echo "FAIL: the program was not attached: $out"; fail=1; else echo "ok attached"; fi
exit $fail
