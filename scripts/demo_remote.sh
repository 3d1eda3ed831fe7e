#!/usr/bin/env bash
# scripts/demo_remote.sh [BUILD_DIR]: the split runtime, shown: a weftd, two
# processes sharing its channel and variable (examples/remote_pipeline),
# weft ps and weft peek --goroutines on one of them while it waits, weft
# trace and weft cpu on it while it works,
# the conformance suite against it, `weft remote` running a program
# attached to a passthrough server of its own, and the same under the trace
# logger (`weft remote --trace`). demo.sh runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/release}
sock=$(mktemp -u /tmp/weft-demo-XXXXXX.sock)
"$build/tools/weftd" --listen "unix:$sock" &
weftd=$!
trap 'kill $weftd 2>/dev/null; wait $weftd 2>/dev/null; rm -f "$sock"' EXIT
for _ in $(seq 1 500); do [ -S "$sock" ] && break; sleep 0.01; done

echo "==> two processes share the channel \"pipeline.jobs\" through weftd (unix:$sock)"
weft="$build/tools/weft/weft"
WEFT_RUNTIME="unix:$sock" "$build/examples/remote_pipeline" consume 20000 &
consumer=$!
for _ in $(seq 1 200); do
  "$weft" ps --runtime "unix:$sock" --json | grep -q "\"pid\":$consumer," && break
  sleep 0.05
done
echo "==> weft ps, and weft peek --goroutines on the consumer while it waits for jobs"
"$weft" ps --runtime "unix:$sock"
"$weft" peek --goroutines --runtime "unix:$sock" "pid:$consumer" >/dev/null  # starts its instrumentation
sleep 0.5
"$weft" peek --goroutines --top 4 --runtime "unix:$sock" "pid:$consumer" | python3 scripts/peek_summary.py
echo "==> weft trace and weft cpu on the consumer while a producer feeds it"
out=$(mktemp -d /tmp/weft-demo-XXXXXX)
"$weft" trace --runtime "unix:$sock" --seconds 0.3 -o "$out/consumer-trace.json" "pid:$consumer" 2>"$out/trace.err" &
tracer=$!
"$weft" cpu --runtime "unix:$sock" --seconds 0.3 -o "$out/consumer-cpu.pb.gz" "pid:$consumer" 2>"$out/cpu.err" &
profiler=$!
sleep 0.1
WEFT_RUNTIME="unix:$sock" "$build/examples/remote_pipeline" produce 20000
wait $tracer || { cat "$out/trace.err"; exit 1; }
wait $profiler || { cat "$out/cpu.err"; exit 1; }
echo "    $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["traceEvents"]), "Chrome trace records")' "$out/consumer-trace.json") in $out/consumer-trace.json (open it in ui.perfetto.dev)"
echo "    a pprof CPU profile of $(stat -c %s "$out/consumer-cpu.pb.gz") bytes in $out/consumer-cpu.pb.gz (go tool pprof -top FILE)"
wait $consumer

echo "==> weft-conformance against this weftd"
"$build/tools/conformance/weft-conformance" "unix:$sock" | tail -1

echo "==> weft remote: a program attached to a passthrough server of its own"
"$build/tools/weft/weft" remote "$build/examples/remote_pipeline" both 500

echo "==> the trace logger: weft remote --trace FILE, its summary on stderr"
trace=$(mktemp /tmp/weft-demo-trace-XXXXXX.json)
"$build/tools/weft/weft" remote --trace "$trace" "$build/examples/remote_pipeline" both 500
echo "    $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["traceEvents"]), "Chrome trace records")' "$trace") in $trace: open it in ui.perfetto.dev"
