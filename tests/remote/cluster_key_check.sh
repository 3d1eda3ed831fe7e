#!/usr/bin/env bash
# tests/remote/cluster_key_check.sh WEFTD PIPELINE WEFT: the cluster key,
# with a real weftd, real attached programs (examples/remote_pipeline) and
# the weft command:
#   - weftd refuses a key file others can read, and one too short, saying why;
#   - weftd refuses to listen beyond loopback without a key, and does with one;
#   - a program given the key (WEFT_KEY_FILE) attaches and works;
#   - a program without it, or with another key, ends at once with status 2
#     and a message that says what to do; weftd keeps serving the others;
#   - the weft command does as a program does (weft ps).
#   - the local weftd (the default socket, no --key) makes this user's key
#     (mode 0600) and requires it; programs and the weft command find it.
# Every process is killed and every file removed whatever happens.
set -uo pipefail
weftd=$1
prog=$2
weft=$3
dir=$(mktemp -d /tmp/weft-key-XXXXXX)
# No default key (this user's cluster.key of the local weftd) may stand in
# for a missing WEFT_KEY_FILE here.
export XDG_RUNTIME_DIR="$dir/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

(umask 077; head -c 32 /dev/urandom > "$dir/key"; head -c 32 /dev/urandom > "$dir/other"; printf short > "$dir/short")
cp "$dir/key" "$dir/open"; chmod 644 "$dir/open"

# Bad key files: weftd exits 2 at once and names the problem.
timeout 10 "$weftd" --quiet --listen "unix:$dir/x.sock" --key "$dir/open" 2> "$dir/open.err"
[ $? -eq 2 ] || fail "weftd took a key file others can read"
grep -q "readable by others" "$dir/open.err" || fail "no reason given for the open key file: $(cat "$dir/open.err")"
timeout 10 "$weftd" --quiet --listen "unix:$dir/x.sock" --key "$dir/short" 2> "$dir/short.err"
[ $? -eq 2 ] || fail "weftd took a 5-byte key"
grep -q "fewer than the 16" "$dir/short.err" || fail "no reason given for the short key: $(cat "$dir/short.err")"
timeout 10 "$weftd" --quiet --listen "unix:$dir/x.sock" --key "$dir/missing" 2> "$dir/missing.err"
[ $? -eq 2 ] || fail "weftd started with a key file that does not exist"
grep -q "head -c 32 /dev/urandom" "$dir/missing.err" || fail "no word on how to make a key: $(cat "$dir/missing.err")"

# Beyond loopback: refused without a key, served with one.
timeout 10 "$weftd" --quiet --listen "tcp:0.0.0.0:0" 2> "$dir/wide.err"
[ $? -eq 2 ] || fail "weftd listened beyond loopback without a key"
grep -q -- "--key FILE" "$dir/wide.err" || fail "the refusal does not say --key: $(cat "$dir/wide.err")"
"$weftd" --listen "tcp:0.0.0.0:0" --key "$dir/key" 2> "$dir/wide-keyed.err" &
pids+=($!)
for _ in $(seq 1 500); do grep -q "listening on" "$dir/wide-keyed.err" && break; sleep 0.01; done
grep -q "listening on tcp:" "$dir/wide-keyed.err" || fail "weftd with a key did not listen on 0.0.0.0: $(cat "$dir/wide-keyed.err")"

# A keyed weftd on a Unix socket, and programs with and without the key.
sock="$dir/keyed.sock"
"$weftd" --listen "unix:$sock" --key "$dir/key" 2> "$dir/weftd.log" &
weftd_pid=$!
pids+=($weftd_pid)
for _ in $(seq 1 500); do [ -S "$sock" ] && break; sleep 0.01; done
[ -S "$sock" ] || fail "weftd --key did not start"

WEFT_RUNTIME="unix:$sock" timeout 20 "$prog" consume 5 > /dev/null 2> "$dir/nokey.err"
st=$?
[ $st -eq 2 ] || fail "a program without the key exited $st, want 2: $(cat "$dir/nokey.err")"
grep -q "requires the cluster key: set WEFT_KEY_FILE" "$dir/nokey.err" || fail "no word of WEFT_KEY_FILE: $(cat "$dir/nokey.err")"

WEFT_RUNTIME="unix:$sock" WEFT_KEY_FILE="$dir/other" timeout 20 "$prog" consume 5 > /dev/null 2> "$dir/wrong.err"
st=$?
[ $st -eq 2 ] || fail "a program with another key exited $st, want 2: $(cat "$dir/wrong.err")"
grep -q "wrong cluster key" "$dir/wrong.err" || fail "the wrong key is not named as such: $(cat "$dir/wrong.err")"

WEFT_RUNTIME="unix:$sock" WEFT_KEY_FILE="$dir/key" timeout 60 "$prog" consume 200 > "$dir/consumer.out" 2>&1 &
consumer=$!
pids+=($consumer)
WEFT_RUNTIME="unix:$sock" WEFT_KEY_FILE="$dir/key" timeout 60 "$prog" produce 200 > "$dir/producer.out" 2>&1
[ $? -eq 0 ] || fail "the producer with the key failed: $(cat "$dir/producer.out")"
wait $consumer || fail "the consumer with the key failed: $(cat "$dir/consumer.out")"
WEFT_KEY_FILE="$dir/key" timeout 20 "$weft" ps --runtime "unix:$sock" > "$dir/ps.out" 2>&1
[ $? -eq 0 ] || fail "weft ps with the key failed: $(cat "$dir/ps.out")"
timeout 20 "$weft" ps --runtime "unix:$sock" > "$dir/ps-nokey.out" 2>&1
[ $? -eq 1 ] || fail "weft ps without the key did not exit 1: $(cat "$dir/ps-nokey.out")"
grep -q "requires the cluster key: set WEFT_KEY_FILE" "$dir/ps-nokey.out" || fail "weft ps: $(cat "$dir/ps-nokey.out")"
kill -0 $weftd_pid 2>/dev/null || fail "weftd died"
grep -q "UNAUTHORIZED: wrong cluster key" "$dir/weftd.log" || fail "weftd did not log the wrong key: $(cat "$dir/weftd.log")"
grep -q "(key proven)" "$dir/weftd.log" || fail "weftd did not log a proven attach"

# The local weftd: at the default socket without --key it makes this
# user's key (0600) and requires it; programs and weft find it unasked,
# and a program given another key is refused.
"$weftd" > "$dir/local.log" 2>&1 &  # not under timeout: killing that would leave weftd
local_pid=$!
pids+=($local_pid)
for _ in $(seq 1 500); do [ -S "$XDG_RUNTIME_DIR/weft/weftd.sock" ] && break; sleep 0.01; done
key="$XDG_RUNTIME_DIR/weft/cluster.key"
[ -f "$key" ] || fail "the local weftd made no key at $key: $(cat "$dir/local.log")"
[ "$(stat -c %a "$key")" = 600 ] || fail "the local weftd's key has mode $(stat -c %a "$key"), want 600"
WEFT_RUNTIME="unix:$XDG_RUNTIME_DIR/weft/weftd.sock" timeout 20 "$prog" produce 0 > "$dir/local-prog.out" 2>&1 ||
  fail "a program without WEFT_KEY_FILE did not attach to the local weftd: $(cat "$dir/local-prog.out")"
timeout 20 "$weft" ps > "$dir/local-ps.out" 2>&1 || fail "weft ps on the local weftd: $(cat "$dir/local-ps.out")"
WEFT_RUNTIME="unix:$XDG_RUNTIME_DIR/weft/weftd.sock" WEFT_KEY_FILE="$dir/other" timeout 20 "$prog" produce 0 \
  > /dev/null 2> "$dir/local-wrong.err"
[ $? -eq 2 ] || fail "the local weftd served a program with another key"
grep -q "(key proven)" "$dir/local.log" || fail "the local weftd did not require its key: $(cat "$dir/local.log")"
echo "cluster key: refused without or with the wrong key, served with the right one; the local weftd makes its own"
