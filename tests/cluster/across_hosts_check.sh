#!/usr/bin/env bash
# tests/cluster/across_hosts_check.sh WEFTD PIPELINE WEFT: the split runtime
# across "hosts": three network namespaces (scripts/cluster/netns.sh), a
# keyed weftd listening on host 1's address, programs on hosts 2 and 3.
#   - a producer on host 2 and a consumer on host 3 share a remote channel
#     and variable through host 1's weftd: every job arrives, sum exact;
#   - unauthenticated requests from another host are all refused: 20
#     programs without the key and 20 with another key end with status 2,
#     20 `weft ps` (control) without the key exit 1; weftd logs each and
#     keeps serving;
#   - a consumer whose host is cut off (its link down, packets dropped, no
#     reset) mid-stream does not hang: it ends with status 2 once weftd
#     declares it gone, and weftd serves the other hosts meanwhile.
# Needs root. Every namespace, process and file it made is removed however
# it ends (netns.sh down, in the EXIT trap).
set -uo pipefail
weftd=$1
prog=$2
weft=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
netns="$here/../../scripts/cluster/netns.sh"
export WEFT_CLUSTER_PREFIX=${WEFT_CLUSTER_PREFIX:-wfa}
dir=$(mktemp -d /tmp/weft-across-XXXXXX)
chmod 755 "$dir"
export XDG_RUNTIME_DIR="$dir/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
trap '"$netns" down; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
. "$here/cluster_lib.sh"
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces (CI runs as root)"

"$netns" up 3 || fail "could not make the namespaces"

(umask 077; head -c 32 /dev/urandom > "$dir/key"; head -c 32 /dev/urandom > "$dir/other")
h1=$("$netns" addr 1)
server="tcp:$h1:7070"
on 1 "$weftd" --listen "$server" --key "$dir/key" > "$dir/weftd.log" 2>&1 &
for _ in $(seq 1 500); do grep -q "listening on" "$dir/weftd.log" && break; sleep 0.01; done
grep -q "listening on $server" "$dir/weftd.log" || fail "weftd on host 1 did not listen on $server"

# A pipeline across hosts 2 and 3.
on 3 env WEFT_RUNTIME="$server" WEFT_KEY_FILE="$dir/key" timeout 60 "$prog" consume 500 > "$dir/consumer.log" 2>&1 &
consumer=$!
on 2 env WEFT_RUNTIME="$server" WEFT_KEY_FILE="$dir/key" timeout 60 "$prog" produce 500 > "$dir/producer.log" 2>&1 ||
  fail "the producer on host 2 failed"
wait $consumer || fail "the consumer on host 3 failed"
grep -q "consumer: 500 jobs, sum of squares 41791750 (expected 41791750), remote counter 500" "$dir/consumer.log" ||
  fail "the consumer on host 3 did not get every job: $(cat "$dir/consumer.log")"

# Unauthenticated: every attempt refused, from another host.
refused=0
for i in $(seq 1 20); do
  on 2 env WEFT_RUNTIME="$server" timeout 20 "$prog" produce 1 > /dev/null 2>> "$dir/nokey.log"
  [ $? -eq 2 ] && refused=$((refused + 1))
  on 3 env WEFT_RUNTIME="$server" WEFT_KEY_FILE="$dir/other" timeout 20 "$prog" produce 1 > /dev/null 2>> "$dir/wrongkey.log"
  [ $? -eq 2 ] && refused=$((refused + 1))
  on 2 timeout 20 "$weft" ps --runtime "$server" > /dev/null 2>> "$dir/ps-nokey.log"
  [ $? -eq 1 ] && refused=$((refused + 1))
done
[ $refused -eq 60 ] || fail "$refused of 60 unauthenticated requests refused"
[ "$(grep -c "UNAUTHORIZED" "$dir/weftd.log")" -ge 60 ] || fail "weftd logged $(grep -c UNAUTHORIZED "$dir/weftd.log") refusals, want 60"

# A host cut off mid-receive: the consumer on host 3 waits for jobs and
# its link goes down (packets dropped, no reset). Its stub hears no
# heartbeat for 1 s and ends it with status 2 (DESIGN.md); weftd serves
# host 2 meanwhile. (A weftd of its own: the first one's pipeline channel
# is closed for good.)
cut_server="tcp:$h1:7071"
on 1 "$weftd" --listen "$cut_server" --key "$dir/key" > "$dir/weftd-cut.log" 2>&1 &
for _ in $(seq 1 500); do grep -q "listening on" "$dir/weftd-cut.log" && break; sleep 0.01; done
server=$cut_server
on 3 env WEFT_RUNTIME="$server" WEFT_KEY_FILE="$dir/key" timeout 60 "$prog" consume 1000000 > "$dir/cut.log" 2>&1 &
cut_consumer=$!
for _ in $(seq 1 500); do grep -q "attached" "$dir/weftd-cut.log" && break; sleep 0.01; done
grep -q "attached" "$dir/weftd-cut.log" || fail "the consumer on host 3 did not attach"
sleep 0.2  # in its receive loop
"$netns" cut 3
cut_at=$(date +%s%N)
on 2 env WEFT_KEY_FILE="$dir/key" timeout 20 "$weft" ps --runtime "$server" > "$dir/ps-during-cut.log" 2>&1 ||
  fail "weft ps from host 2 failed while host 3 was cut off"
wait $cut_consumer
st=$?
took_ms=$((($(date +%s%N) - cut_at) / 1000000))
"$netns" heal 3
[ $st -eq 2 ] || fail "the cut-off consumer ended with status $st, want 2 (server lost)"
grep -q "runtime server" "$dir/cut.log" || fail "the cut-off consumer did not say it lost its server: $(cat "$dir/cut.log")"
[ $took_ms -lt 5000 ] || fail "the cut-off consumer took $took_ms ms to notice, want under 5 s"
echo "across hosts: pipeline exact across namespaces; 60 of 60 unauthenticated requests refused; a host cut off mid-receive ended in $took_ms ms while weftd served the others"
