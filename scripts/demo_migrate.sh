#!/usr/bin/env bash
# scripts/demo_migrate.sh [BUILD_DIR]: goroutine migration on one host
# (docs/migration.md), with the migration tests' program
# (tests/remote/migrate_prog.cpp): a private weftd; a consumer process whose
# migratable goroutine sums the remote channel "numbers"; a second process
# that accepts moved goroutines; a feeder. `weft migrate --list`, then ten
# moves back and forth while the feeder runs, then the feeder's sum and
# count beside the consumer's: equal, however many moves. demo.sh runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/release}
weft="$build/tools/weft/weft" prog="$build/tests/migrate_prog"
if [ ! -x "$prog" ]; then
  echo "demo_migrate.sh: $prog is not built (cmake --build --preset release)" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/weft-demo-migrate-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
"$build/tools/weftd" --quiet --listen "unix:$dir/weftd.sock" 2>"$dir/weftd.log" &
pids+=($!)
for _ in $(seq 1 500); do [ -S "$dir/weftd.sock" ] && break; sleep 0.01; done
export WEFT_RUNTIME="unix:$dir/weftd.sock"
line() { for _ in $(seq 1 1000); do [ -s "$1" ] && { head -1 "$1"; return; }; sleep 0.01; done; }

echo "==> two processes of one binary attached to a weftd; the first starts a migratable goroutine"
"$prog" consumer >"$dir/a.out" 2>&1 &
pids+=($!)
a=$!
"$prog" host >"$dir/b.out" 2>&1 &
pids+=($!)
b=$!
id=$(line "$dir/a.out" | cut -d' ' -f2)
line "$dir/b.out" >/dev/null
"$prog" feeder >"$dir/f.out" 2>&1 &
pids+=($!)
f=$!
"$weft" migrate --list
echo "==> ten moves while a third process feeds the channel it consumes"
for i in $(seq 1 10); do
  if [ $((i % 2)) = 1 ]; then to=$b; else to=$a; fi
  "$weft" migrate "$id" --to "pid:$to"
done
"$prog" set feed.stop 1
wait "$f"
for _ in $(seq 1 500); do [ "$("$prog" get result.done)" = 1 ] && break; sleep 0.02; done
echo "==> fed:     $("$prog" get feed.count) values, sum $("$prog" get feed.sum)"
echo "==> summed:  $("$prog" get result.count) values, sum $("$prog" get result.sum) (the goroutine started $("$prog" get result.starts) times: once, then once per move)"
"$prog" set stop 1
wait "$a" "$b"
