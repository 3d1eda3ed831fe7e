#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets (the "fuzz" preset:
# clang, ASan+UBSan, -fsanitize=fuzzer) and runs each for SECONDS (default
# 30) from fresh seeds: fuzz/make_seeds's, and traffic recorded from a
# release build's weftd, conformance suite and stubs
# (scripts/record_traffic.py). A crash or sanitizer report fails the run;
# the input that did it is left in build/fuzz/crashes/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-30}
cmake --preset fuzz >/dev/null
# Only the fuzzers and the seed tool (and the library under them): the
# preset's tests and tools are built by the asan suite already.
fuzzers=(); for src in fuzz/*_fuzz.cpp; do fuzzers+=("$(basename "$src" .cpp)"); done
cmake --build --preset fuzz -j "${FUZZ_JOBS:-2}" --target "${fuzzers[@]}" make_seeds
corpus=build/fuzz/corpus
rm -rf "$corpus"
mkdir -p "$corpus/frame_fuzz" "$corpus/codec_fuzz" build/fuzz/crashes
build/fuzz/fuzz/make_seeds "$corpus"
# Seeds from real traffic too, when a release build is there to make it: the
# conformance suite (every request, and bad input) and a producer/consumer
# pair of real stubs, recorded through a proxy in front of weftd.
rel=build/release
if [ -x $rel/tools/weftd ] && [ -x $rel/tools/conformance/weft-conformance ] && [ -x $rel/examples/remote_pipeline ]; then
  pipe=$rel/examples/remote_pipeline
  python3 scripts/record_traffic.py $rel/tools/weftd \
    "$rel/tools/conformance/weft-conformance {addr}; WEFT_RUNTIME={addr} $pipe consume 50 & WEFT_RUNTIME={addr} $pipe produce 50; wait" \
    "$corpus/frame_fuzz" || echo "fuzz: recording real traffic failed: hand-made seeds only"
else
  echo "fuzz: no release build in $rel: seeds from make_seeds only (build the release preset for recorded traffic)"
fi
runner=()
if ! build/fuzz/fuzz/frame_fuzz -runs=1 "$corpus/frame_fuzz" >/dev/null 2>&1; then
  runner=(setarch "$(uname -m)" -R)  # sanitizers of clang 14 and high mmap_rnd_bits: see test.sh
fi
fail=0
for f in build/fuzz/fuzz/*_fuzz; do
  name=$(basename "$f")
  mkdir -p "$corpus/$name"
  echo "==> fuzz $name for ${secs}s"
  if ! "${runner[@]}" "$f" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 \
      -artifact_prefix=build/fuzz/crashes/"$name"- "$corpus/$name" 2>build/fuzz/"$name".log; then
    echo "FAIL: $name (log: build/fuzz/$name.log)"; tail -30 build/fuzz/"$name".log; fail=1
  else
    grep -E "^Done|stat::number_of_executed_units" build/fuzz/"$name".log | tail -1 || true
  fi
done
exit $fail
