#!/usr/bin/env bash
# tests/remote/python_server_check.sh SERVER_PY CONFORMANCE PIPELINE: the
# Python runtime server (examples/python_server/weft_server.py) against
#   1. weft-conformance --core (the handshake, channels, variables), and
#   2. examples/remote_pipeline as two processes, a producer and a consumer
#      sharing a remote channel and variable through it (WEFT_RUNTIME).
# Every process it starts is killed on the way out, however it goes: the
# EXIT trap kills them, and a watchdog kills the server should this script
# itself be killed with SIGKILL (which no trap sees).
# Environment: WEFT_PYTHON, the Python to run the server with (else the
# first python3 that has protobuf and msgpack); PROTOC, the protoc it uses.
# Exit 77 (a skip for CTest) without such a Python.
set -uo pipefail
server_py=$1
conformance=$2
pipeline=$3

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-pyserver.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
# Runs a command in the background and waits for it, so that a signal to this
# script runs its traps at once rather than after the command.
run() {
  "$@" &
  local p=$!
  pids+=("$p")
  wait "$p"
}

python=${WEFT_PYTHON:-}
if [ -z "$python" ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import google.protobuf, msgpack' 2>/dev/null; then python=$p; break; fi
  done
fi
if [ -z "$python" ]; then
  echo "SKIP: no python3 with protobuf and msgpack (Debian: python3-protobuf python3-msgpack)"
  exit 77
fi

fail=0
sock=$work/py.sock
addr=unix:$sock
server_args=(--listen "$addr")
[ -n "${PROTOC:-}" ] && server_args+=(--protoc "$PROTOC")
"$python" "$server_py" "${server_args[@]}" 2>"$work/server.log" &
pids+=($!)
(
  while kill -0 $$ 2>/dev/null; do sleep 0.5; done
  kill -KILL "${pids[0]}" 2>/dev/null
  rm -rf "$work"
) &
pids+=($!)
for _ in $(seq 1 200); do
  grep -q "weft_server.py: listening on $addr" "$work/server.log" && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.05
done
if ! grep -q "weft_server.py: listening on $addr" "$work/server.log"; then
  echo "FAIL: the Python server did not start listening on $addr:"
  cat "$work/server.log"
  exit 1
fi

echo "== weft-conformance --core $addr"
if ! run "$conformance" --core "$addr"; then
  echo "FAIL: the Python server does not pass the core conformance checks"
  fail=1
fi

echo "== remote_pipeline: producer and consumer through $addr"
count=200
WEFT_RUNTIME=$addr "$pipeline" consume $count >"$work/consumer.out" 2>&1 &
consumer=$!
pids+=($consumer)
run env WEFT_RUNTIME=$addr timeout 60 "$pipeline" produce $count >"$work/producer.out" 2>&1
producer_status=$?
consumer_status=1
for _ in $(seq 1 1200); do  # up to 60 s
  if ! kill -0 "$consumer" 2>/dev/null; then
    wait "$consumer"
    consumer_status=$?
    break
  fi
  sleep 0.05
done
cat "$work/producer.out" "$work/consumer.out"
want_sum=$((count * (count + 1) * (2 * count + 1) / 6))
if [ "$producer_status" -ne 0 ]; then echo "FAIL: the producer exited with $producer_status"; fail=1; fi
if [ "$consumer_status" -ne 0 ]; then echo "FAIL: the consumer exited with $consumer_status"; fail=1; fi
if ! grep -q "producer: sent $count jobs through the runtime server" "$work/producer.out"; then
  echo "FAIL: the producer did not say it sent $count jobs through the server"; fail=1
fi
if ! grep -q "consumer: $count jobs, sum of squares $want_sum (expected $want_sum), remote counter $count" \
     "$work/consumer.out"; then
  echo "FAIL: the consumer did not get every job exactly once (and count them in the remote variable)"; fail=1
fi

if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "FAIL: the Python server died"; fail=1; fi
if [ $fail -ne 0 ]; then
  echo "-- server log:"
  cat "$work/server.log"
else
  echo "ok: the Python server passes the core checks and serves a producer and a consumer"
fi
exit $fail
