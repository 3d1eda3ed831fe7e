#!/usr/bin/env bash
# tests/remote/weftd_conformance_check.sh WEFTD CONFORMANCE: the full
# conformance suite against a real weftd on a private Unix socket; the
# server is killed whatever happens.
set -uo pipefail
weftd=$1
suite=$2
sock=$(mktemp -u /tmp/weft-conf-XXXXXX.sock)
"$weftd" --quiet --listen "unix:$sock" &
pid=$!
trap 'kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$sock"' EXIT
for _ in $(seq 1 500); do [ -S "$sock" ] && break; sleep 0.01; done
"$suite" "unix:$sock"
