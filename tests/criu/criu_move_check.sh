#!/usr/bin/env bash
# tests/criu/criu_move_check.sh TICKER WEFTD [hosts]: whole-process moves of
# weft programs with CRIU (scripts/criu_move.sh, docs/migration-criu.md).
#   - a program with 4 scheduler threads, a ticker, a ring of goroutines
#     and 8 MiB of state is dumped mid-run and restored: it carries on
#     under its pid, prints ticks on both sides of the move, and ends with
#     every hop counted and its state intact;
#   - the same program attached to a weftd over TCP loopback: the
#     connection survives the move (weftd sees one client, never a second
#     attach), and the remote counter the program adds to at every tick
#     ends at exactly the number of ticks: no update lost or made twice;
#   - attached over a Unix socket, the dump fails with CRIU's "Can't dump
#     half of stream unix connection" and the program runs on untouched
#     (the limit the doc states);
#   - with "hosts": the TCP-attached program moves from one network
#     namespace to another, its address moved with it (as a real IP
#     takeover would), weftd in a third; same exact counter.
# Skips (exit 77, "skipped: WHY") when no usable CRIU is here: not root,
# no criu, or criu_move.sh --check's reason (Debian 12's criu 3.17.1 cannot
# start on Linux 6.13+; scripts/criu_get.sh puts a usable one in place).
set -uo pipefail
ticker=$1
weftd=$2
mode=${3:-local}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
move="$here/../../scripts/criu_move.sh"
dir=$(mktemp -d /tmp/weft-criu-test-XXXXXX)
export XDG_RUNTIME_DIR="$dir/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
prefix=crt$$
cleanup() {
  local p i
  for p in $(cat "$dir/pids" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  if [ "$mode" = hosts ]; then
    for i in 1 2 3; do ip netns del "${prefix}h$i" 2>/dev/null; done
    ip link del "${prefix}br" 2>/dev/null
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || { echo "skipped: CRIU needs root"; exit 77; }
if ! why=$("$move" --check 2>&1); then
  echo "skipped: ${why#criu_move.sh: }"
  exit 77
fi
echo "$why"

# Starts CMD in a session of its own (in network namespace NS unless it is
# "-"), with none of this shell's descriptors past stderr, its output to
# LOG; sets `launched` to its pid (the same process once ip and bash have
# exec'd). It stays this shell's child, so that this shell reaps it as soon
# as the dump kills it (the restore needs its pid free; init may take
# seconds to reap an orphan). The redirections happen inside the namespace:
# `ip netns exec` also makes a mount namespace, and a descriptor opened
# outside it (a mount the program does not see) makes CRIU refuse the dump
# ("Can't lookup mount").
launch() {
  local ns=$1 log=$2
  shift 2
  (
    for fd in $(ls "/proc/$BASHPID/fd"); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    run=(bash -c 'log=$1; shift; exec setsid "$@" </dev/null >>"$log" 2>&1' _ "$log" "$@")
    [ "$ns" = - ] || run=(ip netns exec "$ns" "${run[@]}")
    exec "${run[@]}"
  ) &
  launched=$!
  echo "$launched" >>"$dir/pids"
}
# Waits (at most 10 s) until FILE has a line matching RE.
wait_for() {
  for _ in $(seq 1 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

ticks=150 # 3 s at 20 ms a tick: the move comes at about tick 25
# Moves the ticker started with LOG (pid PID), then checks that it ran on
# both sides and finished whole; prints the move's line.
move_and_finish() {
  local log=$1 pid=$2
  shift 2
  wait_for "$log" '^tick=20 ' || fail "the ticker never reached tick 20: $(tail -n 3 "$log")"
  local line
  line=$("$move" "$@" "$pid") || fail "the move of $pid failed (above)"
  echo "$line"
  if [ -n "${expect_ns:-}" ]; then
    [ "$(ip netns identify "$pid")" = "$expect_ns" ] || fail "pid $pid is not in namespace $expect_ns after the move"
  fi
  wait_for "$log" '^(done|ring|state|weft: fatal)' || fail "the restored ticker did not finish: $(tail -n 3 "$log")"
  sleep 0.2
  grep -q "^done ticks=$ticks hops=$((8 * ticks)) state=ok$" "$log" || fail "the ticker did not end whole after the move: $(tail -n 5 "$log")"
  grep -q "^tick=$ticks .* pid=$pid$" "$log" || fail "the last tick did not come from pid $pid: $(tail -n 3 "$log")"
  echo "$line" | grep -qE 'dump_ms=[0-9]+ .*restore_ms=[0-9]+' || fail "no timings in: $line"
}

if [ "$mode" = local ]; then
  # 1. Plain: threads, epoll, eventfd, timers, guarded stacks, 8 MiB.
  log="$dir/plain.log"
  launch - "$log" "$ticker" --ticks $ticks --mib 8 --procs 4
  pid=$launched
  move_and_finish "$log" "$pid"
  echo "ok: plain program moved"

  # 2. Attached to weftd over TCP loopback.
  launch - "$dir/weftd.log" "$weftd" --listen tcp:127.0.0.1:0
  wait_for "$dir/weftd.log" "listening on" || fail "weftd did not listen: $(cat "$dir/weftd.log")"
  server=$(sed -n 's/^weftd: listening on //p' "$dir/weftd.log" | head -n1)
  log="$dir/tcp.log"
  WEFT_RUNTIME="$server" launch - "$log" "$ticker" --ticks $ticks --mib 8
  pid=$launched
  move_and_finish "$log" "$pid" --tcp
  grep -q "^tick=$ticks .* remote=$ticks pid=" "$log" || fail "remote counter not exact after the move: $(grep "^tick=$ticks " "$log")"
  [ "$(grep -c ' attached: ' "$dir/weftd.log")" = 1 ] || fail "weftd saw the program attach more than once: $(cat "$dir/weftd.log")"
  echo "ok: TCP-attached program moved, remote counter exact"

  # 3. Attached over a Unix socket: CRIU cannot dump one end of a stream
  # connection; the program must run on.
  sock="$dir/weftd.sock"
  launch - "$dir/weftd2.log" "$weftd" --listen "unix:$sock"
  wait_for "$dir/weftd2.log" "listening on" || fail "weftd did not listen on $sock"
  log="$dir/unix.log"
  WEFT_RUNTIME="unix:$sock" launch - "$log" "$ticker" --ticks $ticks --mib 1
  pid=$launched
  wait_for "$log" '^tick=20 ' || fail "the Unix-attached ticker never reached tick 20"
  if out=$("$move" --ext-unix "$pid" 2>&1); then
    fail "the Unix-attached program moved: docs/migration-criu.md says it cannot; update both ($out)"
  fi
  echo "$out" | grep -q "Can't dump half of stream unix connection" || fail "unexpected dump failure: $out"
  wait_for "$log" '^done ' || fail "the program did not run on after the failed dump: $(tail -n 3 "$log")"
  grep -q "^tick=$ticks .* remote=$ticks pid=$pid$" "$log" || fail "the failed dump disturbed the program: $(tail -n 3 "$log")"
  echo "ok: Unix-attached program refused by CRIU and left running"
  exit 0
fi

# hosts: three namespaces on a bridge with no address in the root
# namespace (so nothing here clashes with the cluster suite's 10.213.0.0/24).
ip link add "${prefix}br" type bridge || fail "cannot make a bridge (needs root and CAP_NET_ADMIN)"
ip link set "${prefix}br" up
for i in 1 2 3; do
  ns=${prefix}h$i
  ip netns add "$ns" || fail "cannot make namespace $ns"
  ip link add "${prefix}v$i" type veth peer name eth0 netns "$ns"
  ip link set "${prefix}v$i" master "${prefix}br"
  ip link set "${prefix}v$i" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
done
ip -n "${prefix}h1" addr add 10.231.0.11/24 dev eth0
ip -n "${prefix}h2" addr add 10.231.0.12/24 dev eth0
(umask 077; head -c 32 /dev/urandom > "$dir/key")
export WEFT_KEY_FILE="$dir/key"
launch "${prefix}h1" "$dir/weftd.log" "$weftd" --key "$dir/key" --listen tcp:10.231.0.11:7070
wait_for "$dir/weftd.log" "listening on" || fail "weftd on host 1 did not listen: $(cat "$dir/weftd.log")"
log="$dir/hosts.log"
WEFT_RUNTIME=tcp:10.231.0.11:7070 launch "${prefix}h2" "$log" "$ticker" --ticks $ticks --mib 8
pid=$launched
# The address moves with the process. Host 1 forgets host 2's MAC for it
# (what a gratuitous ARP from host 3 would do) only once the socket is back:
# a packet that reached host 3 before would be answered with a reset.
takeover="ip -n ${prefix}h2 addr del 10.231.0.12/24 dev eth0 && ip -n ${prefix}h3 addr add 10.231.0.12/24 dev eth0"
announce="ip -n ${prefix}h1 neigh flush to 10.231.0.12"
expect_ns=${prefix}h3 move_and_finish "$log" "$pid" --tcp --to-netns "${prefix}h3" --before-restore "$takeover" \
  --after-restore "$announce"
grep -q "^tick=$ticks .* remote=$ticks pid=" "$log" || fail "remote counter not exact after the move: $(grep "^tick=$ticks " "$log")"
echo "ok: TCP-attached program moved to another host namespace, remote counter exact"
