#!/usr/bin/env bash
# scripts/cluster/netns.sh: a cluster of "hosts" on this one machine, for the
# circuit's across-hosts tests: network namespaces joined by veth pairs to
# one bridge in the root namespace. Needs root (CI runs as root).
#
#   netns.sh up N          N hosts: namespaces PREFIXh1..PREFIXhN, each with
#                          loopback and eth0 = 10.213.0.(10+i)/24; the bridge
#                          PREFIXbr = 10.213.0.1 in the root namespace, so a
#                          service there (etcd) is reachable from every host
#   netns.sh down          removes every namespace, veth and bridge of PREFIX,
#                          after killing the processes still in the namespaces
#   netns.sh exec I CMD..  runs CMD in host I's namespace
#   netns.sh addr I        prints host I's address
#   netns.sh cut I         cuts host I off (its veth down in the root
#                          namespace: packets vanish, connections are not
#                          reset, as in a real partition)
#   netns.sh heal I        undoes cut
#   netns.sh status        lists what exists
#
# PREFIX is WEFT_CLUSTER_PREFIX (default "wft"): names stay under the
# kernel's 15 characters. `up` first removes what an earlier run left, so a
# run killed midway does not break the next; `down` is safe to repeat.
set -euo pipefail

prefix=${WEFT_CLUSTER_PREFIX:-wft}
bridge=${prefix}br
subnet=10.213.0

die() {
  echo "netns.sh: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces and a bridge): run it with sudo"
  command -v ip >/dev/null || die "the ip command is missing: apt-get install iproute2"
}

ns_of() { echo "${prefix}h$1"; }
veth_of() { echo "${prefix}v$1"; }
addr_of() { echo "$subnet.$((10 + $1))"; }

our_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}h[0-9]+$" || true
}

down() {
  local ns pid link
  for ns in $(our_namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
    grep -E "^(${prefix}v[0-9]+|${bridge})$" || true); do
    ip link del "$link" 2>/dev/null || true
  done
}

up() {
  local n=$1 i ns veth
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "up N: N must be 1..200, not '$n'"
  down
  ip link add "$bridge" type bridge
  ip addr add "$subnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  for i in $(seq 1 "$n"); do
    ns=$(ns_of "$i")
    veth=$(veth_of "$i")
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$bridge"
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(addr_of "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  # Each host can reach the bridge (where etcd listens) before we return.
  for i in $(seq 1 "$n"); do
    wait_reachable "$i" "$subnet.1"
  done
}

# Reachable: a TCP connect to a closed port is refused (an answer came
# back) or accepted; a cut or unready link times out.
wait_reachable() {
  local i=$1 dest=$2 tries out
  for tries in $(seq 1 50); do
    out=$(ip netns exec "$(ns_of "$i")" timeout 1 bash -c "exec 3<>/dev/tcp/$dest/9" 2>&1) && return 0
    grep -q refused <<<"$out" && return 0
    sleep 0.1
  done
  die "host $i cannot reach $dest"
}

host_index() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || die "expected a host number, not '${1:-}'"
  ip netns list | awk '{print $1}' | grep -qx "$(ns_of "$1")" || die "no host $1 (run: netns.sh up N)"
}

need_root
cmd=${1:-}
shift || true
case "$cmd" in
  up) up "${1:-3}" ;;
  down) down ;;
  exec)
    host_index "${1:-}"
    ns=$(ns_of "$1")
    shift
    exec ip netns exec "$ns" "$@"
    ;;
  addr)
    host_index "${1:-}"
    addr_of "$1"
    ;;
  cut)
    host_index "${1:-}"
    ip link set "$(veth_of "$1")" down
    ;;
  heal)
    host_index "${1:-}"
    ip link set "$(veth_of "$1")" up
    ;;
  status)
    our_namespaces
    ip -br link show master "$bridge" 2>/dev/null || true
    ;;
  *) die "usage: netns.sh up N | down | exec I CMD... | addr I | cut I | heal I | status" ;;
esac
