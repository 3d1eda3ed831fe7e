#!/usr/bin/env bash
# scripts/demo_hosts.sh [BUILD_DIR]: the circuit across hosts, on this one
# machine: three hosts as network namespaces on a bridge
# (scripts/cluster/netns.sh), a real etcd on the bridge, a weftd on each
# host joined to it (docs/cluster.md). A program on host 1 spawns a shard
# pinned to each host (its binary goes to hosts 2 and 3 once, by hash) and
# calls a worker on host 3 100 times through an xref; weft ls on host 2
# lists a worker of host 3; then every namespace and process goes.
# Needs root (namespaces) and etcd; without them it says so and does
# nothing (status 0). demo.sh runs it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/release}
netns=scripts/cluster/netns.sh
if [ "$(id -u)" != 0 ]; then
  echo "==> the circuit across hosts: skipped (network namespaces need root: sudo ./demo.sh)"
  exit 0
fi
command -v etcd >/dev/null || { echo "==> the circuit across hosts: skipped (no etcd: apt-get install etcd-server)"; exit 0; }
export WEFT_CLUSTER_PREFIX=wfd
dir=$(mktemp -d /tmp/weft-demo-hosts-XXXXXX)
chmod 755 "$dir"
etcd_pid=
trap '[ -n "$etcd_pid" ] && kill -KILL "$etcd_pid" 2>/dev/null; "$netns" down; rm -rf "$dir"' EXIT
die() {
  echo "demo_hosts.sh: $*" >&2
  for f in "$dir"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
  exit 1
}

echo "==> three hosts (network namespaces on one bridge), etcd on the bridge, a weftd on each"
"$netns" up 3 >/dev/null || die "could not make the namespaces"
(umask 077; head -c 32 /dev/urandom > "$dir/key")
etcd_url=http://10.213.0.1:32379
etcd --name weft-demo --data-dir "$dir/etcd" --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
  --listen-peer-urls http://10.213.0.1:32380 --initial-advertise-peer-urls http://10.213.0.1:32380 \
  --initial-cluster weft-demo=http://10.213.0.1:32380 > "$dir/etcd.log" 2>&1 &
etcd_pid=$!
disown "$etcd_pid"  # its end at the trap is no news
for _ in $(seq 1 200); do (exec 3<>/dev/tcp/10.213.0.1/32379) 2>/dev/null && break; sleep 0.05; done
for i in 1 2 3; do
  mkdir -p -m 700 "$dir/xdg$i"
  touch "$dir/weftd$i.log"
  "$netns" exec "$i" env XDG_RUNTIME_DIR="$dir/xdg$i" "$build/tools/weftd" --listen "tcp:$("$netns" addr "$i"):7070" \
    --key "$dir/key" --name "h$i" --etcd "$etcd_url" --cache-dir "$dir/cache$i" >> "$dir/weftd$i.log" 2>&1 &
  disown $!
done
for i in 1 2 3; do
  for _ in $(seq 1 500); do grep -q "joined the circuit" "$dir/weftd$i.log" && break; sleep 0.01; done
  grep -q "joined the circuit" "$dir/weftd$i.log" || die "weftd h$i did not join"
  echo "h$i: weftd at tcp:$("$netns" addr "$i"):7070"
done
sleep 0.5  # each weftd's table of hosts has the others (its watch of etcd)

echo "==> on h1: circuit_workers across h1 h2 h3"
"$netns" exec 1 env XDG_RUNTIME_DIR="$dir/xdg1" WEFT_RUNTIME="tcp:$("$netns" addr 1):7070" WEFT_KEY_FILE="$dir/key" \
  timeout 60 "$build/examples/circuit_workers" across h1 h2 h3 || die "the program failed"
for i in 2 3; do
  sent=$(grep -o "binary [0-9a-f]* ([0-9]* bytes) received and verified" "$dir/weftd$i.log" | head -1)
  echo "h$i's weftd: $sent"
done

echo "==> on h1: circuit_workers hold h3 (its workers on h3, one waiting under /demo/victim); weft ls -l on h2"
: > "$dir/hold.out"
"$netns" exec 1 env XDG_RUNTIME_DIR="$dir/xdg1" WEFT_RUNTIME="tcp:$("$netns" addr 1):7070" WEFT_KEY_FILE="$dir/key" \
  timeout 60 "$build/examples/circuit_workers" hold h3 > "$dir/hold.out" 2>&1 &
for _ in $(seq 1 400); do grep -q "^holding" "$dir/hold.out" && break; sleep 0.05; done
grep -q "^holding" "$dir/hold.out" || die "the holding program did not start: $(cat "$dir/hold.out")"
"$netns" exec 2 env WEFT_KEY_FILE="$dir/key" "$build/tools/weft/weft" ls -l --runtime "tcp:$("$netns" addr 2):7070" \
  /demo/victim || die "weft ls on h2 failed"
victim=$("$netns" exec 2 env WEFT_KEY_FILE="$dir/key" "$build/tools/weft/weft" ls --runtime "tcp:$("$netns" addr 2):7070" \
  /demo/victim | head -1)
echo "==> on h2: weft kill ${victim} (a worker of h3, through h2's weftd)"
"$netns" exec 2 env WEFT_KEY_FILE="$dir/key" "$build/tools/weft/weft" kill --runtime "tcp:$("$netns" addr 2):7070" \
  "$victim" || die "weft kill on h2 failed"
for _ in $(seq 1 200); do grep -q "remote_error" "$dir/hold.out" && break; sleep 0.05; done
grep "remote_error" "$dir/hold.out" || die "the caller on h1 did not learn of its worker's end"
echo "==> the circuit across hosts: done; every namespace and process goes now"
