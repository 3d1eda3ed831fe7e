#!/usr/bin/env bash
# scripts/demo_circuit.sh [BUILD_DIR]: the circuit on one host, shown with
# no configuration: examples/circuit_workers starts the local weftd at its
# first spawn (in a private XDG_RUNTIME_DIR here, so the demo leaves
# nothing running), spawns workers under anchors, and waits on one; weft ls
# lists them, weft kill kills that one, and the caller prints its error.
# demo.sh runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/release}
weft="$build/tools/weft/weft"
XDG_RUNTIME_DIR=$(mktemp -d /tmp/weft-demo-circuit-XXXXXX)
export XDG_RUNTIME_DIR
export WEFT_WEFTD="$build/tools/weftd"
unset WEFT_RUNTIME
out="$XDG_RUNTIME_DIR/out"
stop_weftd() {
  pkill -TERM -f "unix:$XDG_RUNTIME_DIR/weft/weftd.sock" 2>/dev/null || true
  for _ in $(seq 1 100); do pgrep -f "unix:$XDG_RUNTIME_DIR/weft/weftd.sock" >/dev/null || break; sleep 0.05; done
  rm -rf "$XDG_RUNTIME_DIR"
}
trap stop_weftd EXIT

echo "==> circuit_workers: three shard workers under /demo/shard, one more under /demo/victim"
"$build/examples/circuit_workers" hold >"$out" 2>&1 &
prog=$!
for _ in $(seq 1 400); do grep -q "^holding" "$out" && break; sleep 0.05; done
cat "$out"
echo "==> weft ls -l /demo/... (the shards exit once they have returned; the victim waits)"
"$weft" ls -l /demo/...
victim=$("$weft" ls /demo/victim | head -1)
echo "==> weft kill --hard $victim"
"$weft" kill --hard "$victim"
wait $prog
echo "==> the caller's output"
tail -1 "$out"
echo "==> weft ls /demo/... (empty: the victim's entry went with its process)"
"$weft" ls /demo/...
