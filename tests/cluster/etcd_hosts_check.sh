#!/usr/bin/env bash
# tests/cluster/etcd_hosts_check.sh WEFTD WEFT WORKERS: three hosts (network
# namespaces, scripts/cluster/netns.sh), a real etcd on the bridge, a weftd
# on each host with --etcd (docs/cluster.md). WORKERS is
# examples/circuit_workers, run on host 2 with `hold`.
#   - every weftd joins; a worker spawned on host 2 is listed by weft ls on
#     host 3, with its host;
#   - a program on host 1 spawns a shard on each host (its binary sent to
#     hosts 2 and 3 once) and calls a worker on host 3 through an xref;
#   - 100 workers on host 2 SIGKILLed mid-call: every caller knows in 3 s;
#   - host 3 cut off for 7 s and healed while host 1 calls a worker there:
#     no call run twice, every success counted at the other end;
#   - a worker SIGKILLed on host 2 leaves every host's listing within 1 s;
#   - host 2's weftd SIGKILLed (host death): its workers' entries vanish
#     within the lease TTL + 1 s (6 s);
#   - etcd SIGKILLed: weft ls on host 1 still answers (its own workers, and
#     a warning that says why); etcd restarted: every weftd says it is back.
# Needs root. Every namespace, process and file it made is removed however
# it ends.
set -uo pipefail
weftd=$1
weft=$2
workers=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
netns="$here/../../scripts/cluster/netns.sh"
export WEFT_CLUSTER_PREFIX=${WEFT_CLUSTER_PREFIX:-wfe}
dir=$(mktemp -d /tmp/weft-etcd-hosts-XXXXXX)
chmod 755 "$dir"
etcd_pid=
trap '[ -n "$etcd_pid" ] && kill -KILL $etcd_pid 2>/dev/null; "$netns" down; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
. "$here/cluster_lib.sh"
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces (CI runs as root)"
command -v etcd >/dev/null || fail "etcd is not installed: apt-get install etcd-server (scripts/deps.sh)"

"$netns" up 3 || fail "could not make the namespaces"
(umask 077; head -c 32 /dev/urandom > "$dir/key")

# etcd on the bridge, reachable from every host.
etcd_url=http://10.213.0.1:32379
start_etcd() {
  etcd --name weft-cluster --data-dir "$dir/etcd" --listen-client-urls "$etcd_url" \
    --advertise-client-urls "$etcd_url" --listen-peer-urls http://10.213.0.1:32380 \
    --initial-advertise-peer-urls http://10.213.0.1:32380 --initial-cluster weft-cluster=http://10.213.0.1:32380 \
    >> "$dir/etcd.log" 2>&1 &
  etcd_pid=$!
  for _ in $(seq 1 200); do
    (exec 3<>/dev/tcp/10.213.0.1/32379) 2>/dev/null && return 0
    sleep 0.05
  done
  fail "etcd did not listen on $etcd_url"
}
start_etcd

# One weftd per host; each a runtime directory of its own (its workers'
# peer sockets and logs).
start_weftd() {
  local i=$1
  mkdir -p -m 700 "$dir/xdg$i"
  touch "$dir/weftd$i.log"  # grep below may look before weftd writes
  # Not through on(): $! must be weftd itself (netns.sh, ip netns exec and
  # env each exec the next), not a subshell.
  "$netns" exec "$i" env XDG_RUNTIME_DIR="$dir/xdg$i" "$weftd" --listen "tcp:$("$netns" addr "$i"):7070" --key "$dir/key" \
    --name "h$i" --etcd "$etcd_url" --cache-dir "$dir/cache$i" >> "$dir/weftd$i.log" 2>&1 &
  eval "weftd${i}_pid=$!"
  for _ in $(seq 1 500); do grep -q "listening on" "$dir/weftd$i.log" && return 0; sleep 0.01; done
  fail "weftd on host $i did not start"
}
for i in 1 2 3; do start_weftd $i; done
for i in 1 2 3; do grep -q "joined the circuit as host \"h$i\"" "$dir/weftd$i.log" || fail "weftd h$i did not join"; done

ls_on() {  # ls_on HOST [ARGS...]: weft ls through that host's weftd
  local i=$1
  shift
  on "$i" env WEFT_KEY_FILE="$dir/key" timeout 20 "$weft" ls --runtime "tcp:$("$netns" addr "$i"):7070" "$@"
}
hold_on_2() {  # the demo's workers on host 2; prints nothing
  on 2 env XDG_RUNTIME_DIR="$dir/xdg2" WEFT_RUNTIME="tcp:$("$netns" addr 2):7070" WEFT_KEY_FILE="$dir/key" \
    timeout 120 "$workers" hold h2 >> "$dir/workers.log" 2>&1 &
  for _ in $(seq 1 1000); do
    ls_on 3 /demo/victim 2>/dev/null | grep -q R && return 0
    sleep 0.02
  done
  fail "host 3 never listed host 2's /demo/victim worker"
}

# Listed across hosts, with the host it runs on.
hold_on_2
ls_on 3 -l /demo/victim | grep -q " h2 " || fail "host 3's listing does not name h2: $(ls_on 3 -l /demo/victim)"

# A worker SIGKILLed: gone from every host's listing within 1 s.
victim=$(ls_on 1 /demo/victim | head -1)
pid=$(ls_on 1 -l /demo/victim | awk '{print $2}' | head -1)
on 2 kill -KILL "$pid"
t0=$(date +%s%N)
while ls_on 1 /demo/victim | grep -q "${victim##*/}"; do
  [ $((($(date +%s%N) - t0) / 1000000)) -lt 1000 ] || fail "a SIGKILLed worker was still listed on host 1 after 1 s"
  sleep 0.02
done
worker_ms=$((($(date +%s%N) - t0) / 1000000))

# Spawns across hosts: a program on host 1 pins a shard to each host (the
# binary goes to hosts 2 and 3 once, by hash) and calls a worker on host 3
# 100 times through an xref, over the bridge.
on 1 env XDG_RUNTIME_DIR="$dir/xdg1" WEFT_RUNTIME="tcp:$("$netns" addr 1):7070" WEFT_KEY_FILE="$dir/key" \
  timeout 60 "$workers" across h1 h2 h3 > "$dir/across.out" 2>&1 || fail "spawns across hosts failed: $(cat "$dir/across.out")"
grep -q "expected 5050" "$dir/across.out" || fail "no xref calls across hosts: $(cat "$dir/across.out")"
grep -q "host h3: worker R[0-9a-f]* (attached to tcp:$("$netns" addr 3):7070)" "$dir/across.out" ||
  fail "the shard pinned to h3 did not run under h3's weftd: $(cat "$dir/across.out")"
grep -q "(tcp:$("$netns" addr 3):[0-9]*)" "$dir/across.out" || fail "h3's worker does not listen on h3's address: $(cat "$dir/across.out")"
for i in 2 3; do
  [ "$(grep -c "received and verified" "$dir/weftd$i.log")" = 1 ] || fail "host $i did not receive the binary exactly once"
done
across_line=$(grep "100 calls" "$dir/across.out")

# 100 workers on host 2 SIGKILLed mid-call: every caller on host 1 knows
# within 3 s (through host 2's weftd and the daemon link).
on 1 env XDG_RUNTIME_DIR="$dir/xdg1" WEFT_RUNTIME="tcp:$("$netns" addr 1):7070" WEFT_KEY_FILE="$dir/key" \
  timeout 60 "$workers" crash h2 100 > "$dir/crash.out" 2>&1 || fail "SIGKILL mid-call: $(tail -3 "$dir/crash.out")"
crash_line=$(grep "callers learned" "$dir/crash.out")

# Host 3 cut off (packets dropped) and healed while host 1 calls a worker
# there: no call runs twice, every success was counted (both ends).
: > "$dir/partition.out"
on 1 env XDG_RUNTIME_DIR="$dir/xdg1" WEFT_RUNTIME="tcp:$("$netns" addr 1):7070" WEFT_KEY_FILE="$dir/key" \
  timeout 90 "$workers" partition h3 > "$dir/partition.out" 2>&1 &
partition_pid=$!
for _ in $(seq 1 500); do grep -q "^calling" "$dir/partition.out" && break; sleep 0.02; done
grep -q "^calling" "$dir/partition.out" || fail "the partition program did not start: $(cat "$dir/partition.out")"
sleep 1
"$netns" cut 3
sleep 7
"$netns" heal 3
wait "$partition_pid" || fail "a partition of host 3: $(grep -v '^\s' "$dir/partition.out" | tail -5)"
partition_line=$(grep "^sent" "$dir/partition.out")

# A fresh weftd on host 2 (the demo's remote channels live in the old one):
# the old one stops on SIGTERM, revoking its leases.
kill -TERM "$weftd2_pid"
for _ in $(seq 1 500); do kill -0 "$weftd2_pid" 2>/dev/null || break; sleep 0.01; done
mv "$dir/weftd2.log" "$dir/weftd2-first.log"
start_weftd 2

# Host death: host 2's weftd SIGKILLed; nobody revokes its workers' leases.
hold_on_2
kill -KILL "$weftd2_pid"
t0=$(date +%s%N)
while ls_on 1 /demo/... | grep -q R; do
  [ $((($(date +%s%N) - t0) / 1000000)) -lt 6000 ] || fail "host 2's workers still listed 6 s after its weftd died"
  sleep 0.1
done
host_ms=$((($(date +%s%N) - t0) / 1000000))

# etcd gone: weft ls still answers, with a warning; etcd back: they rejoin.
kill -KILL "$etcd_pid"
wait "$etcd_pid" 2>/dev/null
etcd_pid=
ls_on 1 /... > "$dir/ls-no-etcd.out" 2> "$dir/ls-no-etcd.err" || fail "weft ls failed with etcd down"
grep -q "only this host's workers" "$dir/ls-no-etcd.err" || fail "no warning with etcd down: $(cat "$dir/ls-no-etcd.err")"
start_etcd
for i in 1 3; do
  for _ in $(seq 1 200); do grep -q "etcd: back" "$dir/weftd$i.log" && break; sleep 0.05; done
  grep -q "etcd: back" "$dir/weftd$i.log" || fail "weftd h$i did not say etcd is back"
done
echo "$across_line"
echo "$crash_line"
echo "partition of host 3 for 7 s: $partition_line"
echo "etcd hosts: 3 weftds joined; spawns pinned to each host ran there (the binary sent to each once); host 2's worker listed on host 3; a SIGKILLed worker unlisted in $worker_ms ms; a dead host's workers in $host_ms ms (TTL 5 s); weft ls answers without etcd, and the weftds rejoin"
