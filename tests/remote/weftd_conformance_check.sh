#!/usr/bin/env bash
# tests/remote/weftd_conformance_check.sh WEFTD CONFORMANCE: the full
# conformance suite against a real weftd on a private Unix socket, then its
# core part (with the cluster key checks, which must not be skipped there)
# against a weftd started with a key, then the full suite again over TLS
# (weftd --tls, tls:unix:PATH): the protocol is the same inside it. The
# servers are killed whatever happens.
set -uo pipefail
weftd=$1
suite=$2
dir=$(mktemp -d /tmp/weft-conf-XXXXXX)
# No default key (this user's cluster.key, left by any local weftd) may
# stand in for a missing --key below.
export XDG_RUNTIME_DIR="$dir/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT

start() {  # start SOCK [ARGS...]: a weftd on SOCK, waited for
  local sock=$1; shift
  "$weftd" --quiet --listen "unix:$sock" "$@" &
  pids+=($!)
  for _ in $(seq 1 500); do [ -S "$sock" ] && return 0; sleep 0.01; done
  echo "FAIL: weftd $* did not start listening on $sock"; exit 1
}

start "$dir/plain.sock"
"$suite" "unix:$dir/plain.sock" | tee "$dir/plain.out" || exit 1

(umask 077; head -c 32 /dev/urandom > "$dir/key")
start "$dir/keyed.sock" --key "$dir/key"
"$suite" --core --key "$dir/key" "unix:$dir/keyed.sock" | tee "$dir/keyed.out" || exit 1
if grep -q '^SKIP' "$dir/keyed.out"; then echo "FAIL: a key check was skipped against a weftd with a key"; exit 1; fi
grep -q '^PASS handshake.key.wrong-key-refused' "$dir/keyed.out" || { echo "FAIL: the key checks did not run"; exit 1; }

# Without the key the suite cannot even say Hello to it: it must say why.
if "$suite" --only handshake.welcome "unix:$dir/keyed.sock" > "$dir/nokey.out"; then
  echo "FAIL: the suite passed against a keyed weftd without the key"; exit 1
fi
grep -q -- '--key FILE' "$dir/nokey.out" || { echo "FAIL: no word of --key when the key is missing:"; cat "$dir/nokey.out"; exit 1; }
# Over TLS: everything, the bad-input checks included (inside the TLS
# stream), and the key checks (the challenge-response runs inside TLS too).
start "$dir/tls.sock" --key "$dir/key" --tls
"$suite" --key "$dir/key" "tls:unix:$dir/tls.sock" | tee "$dir/tls.out" || exit 1
if grep -q '^SKIP' "$dir/tls.out"; then echo "FAIL: a check was skipped over TLS"; exit 1; fi
echo "weftd conformance: plain, keyed and TLS servers pass"
