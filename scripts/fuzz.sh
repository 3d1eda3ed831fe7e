#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets (the "fuzz" preset:
# clang, ASan+UBSan, -fsanitize=fuzzer) and runs each for SECONDS (default
# 30) from fresh seeds (fuzz/make_seeds). A crash or sanitizer report fails
# the run; the input that did it is left in build/fuzz/crashes/.
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
