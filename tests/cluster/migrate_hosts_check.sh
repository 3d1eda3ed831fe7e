#!/usr/bin/env bash
# tests/cluster/migrate_hosts_check.sh WEFTD WEFT MIGRATE_PROG: a goroutine
# moved 100 times between three hosts (network namespaces,
# scripts/cluster/netns.sh) while it consumes a remote channel another
# process feeds (tests/remote/migrate_prog.cpp). One weftd, on host 1, over
# TCP with the cluster key: the goroutine's channel and its record live
# there; the processes that take turns running it are on hosts 1, 2 and 3,
# attached to it across the bridge. Checks: every move lands where it was
# sent, the consumer's sum and count equal the feeder's exactly (no value
# lost or taken twice), it restarted once per move and ran in a new process
# each time; and --to auto moves it from host 2 next to the weftd (host 1),
# saying and logging why. Needs root. Everything it made is removed however it ends.
set -uo pipefail
weftd=$1
weft=$2
prog=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
netns="$here/../../scripts/cluster/netns.sh"
export WEFT_CLUSTER_PREFIX=${WEFT_CLUSTER_PREFIX:-wfm}
dir=$(mktemp -d /tmp/weft-migrate-hosts-XXXXXX)
chmod 755 "$dir"
trap '"$netns" down; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
. "$here/cluster_lib.sh"
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces (CI runs as root)"

"$netns" up 3 || fail "could not make the namespaces"
(umask 077; head -c 32 /dev/urandom > "$dir/key")
addr1=$("$netns" addr 1)
runtime="tcp:$addr1:7071"
touch "$dir/weftd.log"
"$netns" exec 1 "$weftd" --listen "$runtime" --key "$dir/key" >> "$dir/weftd.log" 2>&1 &
weftd_pid=$!
for _ in $(seq 1 500); do grep -q "listening on" "$dir/weftd.log" && break; sleep 0.01; done
grep -q "listening on" "$dir/weftd.log" || fail "weftd on host 1 did not start"

run_on() {  # run_on HOST NAME ARGS...: migrate_prog ARGS on HOST, output in $dir/NAME.out
  local host=$1 name=$2
  shift 2
  on "$host" env WEFT_RUNTIME="$runtime" WEFT_KEY_FILE="$dir/key" timeout 120 "$prog" "$@" \
    > "$dir/$name.out" 2> "$dir/$name.log" &
  progs+=($!)
}
progs=()
prog_on_1() { on 1 env WEFT_RUNTIME="$runtime" WEFT_KEY_FILE="$dir/key" timeout 20 "$prog" "$@"; }
first_line() {
  for _ in $(seq 1 1000); do
    [ -s "$dir/$1.out" ] && { head -1 "$dir/$1.out"; return; }
    sleep 0.01
  done
  fail "$1 printed nothing"
}

run_on 1 consumer consumer
run_on 2 host2 host
run_on 3 host3 host
id=$(first_line consumer | cut -d' ' -f2)
[ "${id:0:1}" = M ] || fail "the consumer printed no goroutine id: $(first_line consumer)"
[ "$(first_line host2)" = ready ] || fail "host 2's process is not ready"
[ "$(first_line host3)" = ready ] || fail "host 3's process is not ready"
run_on 1 feeder feeder

# The processes' pids, from the weftd's own list (pids are the machine's:
# the namespaces share one pid space).
ps_json=$(on 1 env WEFT_KEY_FILE="$dir/key" timeout 20 "$weft" ps --json --runtime "$runtime")
pid_for() {  # pid_for MODE: the pid of the migrate_prog running MODE
  echo "$ps_json" | tr '\n' ' ' | sed 's/},/}\n/g' | grep "\"argv\":\[\"[^\"]*migrate_prog\",\"$1\"" |
    sed -n 's/.*"pid":\([0-9]*\).*/\1/p' | head -"$2" | tail -1
}
p1=$(pid_for consumer 1)
p2=$(pid_for host 1)
p3=$(pid_for host 2)
[ -n "$p1" ] && [ -n "$p2" ] && [ -n "$p3" ] || fail "weft ps does not list the three processes: $ps_json"
ring=("$p2" "$p3" "$p1")
t0=$(date +%s%N)
for i in $(seq 0 99); do
  to=${ring[$((i % 3))]}
  out=$(on 1 env WEFT_KEY_FILE="$dir/key" timeout 60 "$weft" migrate "$id" --to "pid:$to" --runtime "$runtime" 2>&1) ||
    fail "move $i to pid $to failed: $out"
  echo "$out" | grep -q -- "-> pid $to" || fail "move $i did not land on pid $to: $out"
done
moves_ms=$((($(date +%s%N) - t0) / 1000000))
# The last move left it on host 2; auto brings it next to the weftd (host 1),
# not to host 3: its channel's operations are round trips to the weftd.
out=$(on 1 env WEFT_KEY_FILE="$dir/key" timeout 60 "$weft" migrate "$id" --to auto --runtime "$runtime" 2>&1) ||
  fail "the auto move failed: $out"
echo "$out" | grep -q -- "-> pid $p1" || fail "auto did not move it next to the weftd (pid $p1 on host 1): $out"
echo "$out" | grep -q "next to this weftd" || fail "auto's reason does not say why: $out"
# The measure that decided: the bytes its process exchanged with the weftd.
echo "$out" | grep -Eq "exchanged [0-9]+ bytes in [0-9.]+ s \([0-9]+ bytes/s\) with it" ||
  fail "auto's reason does not name the traffic it weighed: $out"
grep -q "migrate auto: next to this weftd" "$dir/weftd.log" || fail "weftd did not log auto's decision"

prog_on_1 set feed.stop 1 || fail "could not stop the feeder"
for _ in $(seq 1 500); do [ "$(prog_on_1 get result.done)" = 1 ] && break; sleep 0.02; done
[ "$(prog_on_1 get result.done)" = 1 ] || fail "the consumer never finished"
count=$(prog_on_1 get feed.count)
sum=$(prog_on_1 get feed.sum)
[ "$count" -gt 0 ] || fail "the feeder sent nothing"
[ "$(prog_on_1 get result.count)" = "$count" ] || fail "consumer count $(prog_on_1 get result.count) != fed $count"
[ "$(prog_on_1 get result.sum)" = "$sum" ] || fail "consumer sum $(prog_on_1 get result.sum) != fed $sum"
[ "$sum" = $((count * (count + 1) / 2)) ] || fail "the fed values are not 1..$count"
[ "$(prog_on_1 get result.starts)" = 102 ] || fail "the goroutine started $(prog_on_1 get result.starts) times, not 102"
[ "$(prog_on_1 get result.hops)" = 102 ] || fail "the goroutine changed process $(prog_on_1 get result.hops) times, not 102"
prog_on_1 set stop 1
for p in "${progs[@]}"; do wait "$p" || fail "a migrate_prog ended with status $?"; done
kill "$weftd_pid"
echo "migration across hosts: 100 moves between hosts 1, 2 and 3 in $moves_ms ms (with the weft command's start each time); $count values consumed, sum and count exact; 102 starts, each in another process than the last; auto brought it from host 2 next to the weftd"
