#!/usr/bin/env bash
# ./test.sh [--long] [PRESET...|cluster]: installs what weft needs (Debian 12), checks
# that src/ keeps its layers (scripts/check_layers) and its layout
# (scripts/check_format, .clang-format), then builds and runs the
# tests under each preset: release, asan (ASan+UBSan) and tsan (TSan) by
# default. --long also runs the long stress tests (ctest label "long", e.g. a
# million parked goroutines) on the release build. "cluster" runs the
# cluster suite (label "cluster": hosts as network namespaces, real weftds)
# on the release build; it needs root, and runs by default when root.
# Environment: WEFT_SKIP_DEPS=1 skips the package step;
# CTEST_JOBS (default 2) and CTEST_TIMEOUT (default 300 s) tune ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. scripts/deps.sh

long=0
presets=()
for a in "$@"; do
  if [ "$a" = --long ]; then long=1; else presets+=("$a"); fi
done
cluster=0
if [ ${#presets[@]} -eq 0 ]; then
  presets=(release asan tsan)
  [ "$(id -u)" = 0 ] && cluster=1
fi
for i in "${!presets[@]}"; do
  if [ "${presets[$i]}" = cluster ]; then
    cluster=1
    unset 'presets[i]'
  fi
done

# sanitizer_runner PRESET FLAGS...: prints the command prefix that the preset's
# tests need. Some kernels randomize mmap with more bits (vm.mmap_rnd_bits=32)
# than the sanitizer runtimes of Debian 12's clang 14 and gcc 12 expect; TSan
# then dies with "FATAL: ThreadSanitizer: unexpected memory mapping". A tiny
# program built the same way tells; if it fails, but passes with ASLR off,
# the tests run under `setarch <arch> -R` (ASLR off for them and their children).
sanitizer_runner() {
  local preset=$1 cxx dir out arch
  shift
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "build/$preset/CMakeCache.txt")
  dir=$(mktemp -d)
  cat >"$dir/probe.cpp" <<'CPP'
#include <thread>
int main() {
  int x = 0;
  std::thread t([&] { x = 1; });
  t.join();
  return x == 1 ? 0 : 1;
}
CPP
  if ! "${cxx:-c++}" "$@" -pthread "$dir/probe.cpp" -o "$dir/probe" 2>"$dir/cc.log"; then
    echo "sanitizer probe ($preset): could not compile; running tests as they are" >&2
    cat "$dir/cc.log" >&2
    rm -rf "$dir"
    return 0
  fi
  if out=$(timeout 60 "$dir/probe" 2>&1); then
    echo "sanitizer probe ($preset): ok" >&2
  else
    arch=$(uname -m)
    if grep -q "unexpected memory mapping" <<<"$out"; then
      echo "sanitizer probe ($preset): 'unexpected memory mapping' (vm.mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo '?'))" >&2
    else
      echo "sanitizer probe ($preset): failed: $(head -c 300 <<<"$out")" >&2
    fi
    if timeout 60 setarch "$arch" -R "$dir/probe" >/dev/null 2>&1; then
      echo "sanitizer probe ($preset): passes with ASLR off; running the tests under setarch $arch -R" >&2
      echo "setarch $arch -R"
    else
      echo "sanitizer probe ($preset): fails with ASLR off too; running tests as they are" >&2
    fi
  fi
  rm -rf "$dir"
}

run_ctest() {
  local preset=$1 runner=()
  case $preset in
    asan)
      export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
      read -r -a runner <<<"$(sanitizer_runner asan -fsanitize=address,undefined)"
      ;;
    tsan)
      # atexit_sleep_ms: TSan waits a second at every process exit by
      # default (for late reports from other threads); 50 ms is enough here,
      # and the second cost CI six minutes over ~800 test processes and made
      # exit-time bounds (a program ends within 1 s of its server) unmeasurable.
      export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=50}
      read -r -a runner <<<"$(sanitizer_runner tsan -fsanitize=thread)"
      ;;
  esac
  # The long stress runs (label "long") are not part of the default run:
  # ./test.sh --long, and CI, run them on the release build.
  "${runner[@]}" ctest --preset "$preset" -j "${CTEST_JOBS:-2}" --timeout "${CTEST_TIMEOUT:-300}" --no-tests=error -LE 'long|cluster'
}

weft_step "deps" weft_install_deps
# Before any build: an include that breaks the layers fails at once.
weft_step "layers" scripts/check_layers
weft_step "format" scripts/check_format
for preset in "${presets[@]}"; do
  weft_step "configure $preset" cmake --preset "$preset"
  weft_step "build $preset" cmake --build --preset "$preset"
  weft_step "test $preset" run_ctest "$preset"
done
if [ "$long" = 1 ]; then
  weft_step "configure release" cmake --preset release
  weft_step "build release" cmake --build --preset release
  weft_step "long stress (release)" ctest --preset release -L long --timeout 900 --no-tests=error
fi
if [ "$cluster" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "test.sh: the cluster suite needs root (network namespaces): sudo ./test.sh cluster" >&2; exit 1; }
  weft_step "configure release" cmake --preset release
  weft_step "build release" cmake --build --preset release
  weft_step "cluster suite (network namespaces, release)" ctest --preset release -L cluster --timeout 600 --no-tests=error
elif [ "$(id -u)" != 0 ]; then
  echo "test.sh: cluster suite not run (it needs root: sudo ./test.sh cluster)"
fi
echo "test.sh: all passed: ${presets[*]}$([ "$long" = 1 ] && echo ' (and the long stress runs)')$([ "$cluster" = 1 ] && echo ' (and the cluster suite)')"
