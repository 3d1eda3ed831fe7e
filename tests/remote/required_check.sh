#!/usr/bin/env bash
# tests/remote/required_check.sh PROG: PROG is linked with
# weft::remote_required. Without WEFT_RUNTIME it must exit 2 with DESIGN.md's
# message before main runs.
set -uo pipefail
prog=$1
out=$(env -u WEFT_RUNTIME "$prog" 2>&1)
status=$?
fail=0
if [ "$status" -ne 2 ]; then echo "FAIL: exit status $status, want 2"; fail=1; fi
if ! grep -q "weft: this program requires a runtime server (set WEFT_RUNTIME)" <<<"$out"; then
  echo "FAIL: message missing; got: $out"; fail=1
fi
if grep -q "main ran" <<<"$out"; then echo "FAIL: main ran"; fail=1; fi
[ $fail -eq 0 ] && echo "ok: refused without a runtime server"
exit $fail
