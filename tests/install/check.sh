#!/usr/bin/env bash
# tests/install/check.sh BUILD_DIR: checks that an installed weft can be used.
#
# Installs BUILD_DIR (an already built weft tree, e.g. build/release) into a
# fresh temporary prefix, then builds tests/install/consumer against it twice,
# the two ways a user would:
#   1. CMake: find_package(weft) with CMAKE_PREFIX_PATH=<prefix>, weft::weft;
#   2. pkg-config: g++ main.cpp $(pkg-config --cflags --libs weft), and the
#      same with --static (both must link: the library is static, so even
#      the plain form names what it needs);
# and runs each program, which exits 0 only if weft worked.
# Set KEEP=1 to keep the temporary directory.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
consumer=$here/consumer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-install.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  echo "install check: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
prefix=$tmp/prefix

echo "== install check: cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }

echo "== install check: find_package(weft) consumer"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$consumer" -B "$tmp/consumer-build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$tmp/consumer-build"
"$tmp/consumer-build/weft_consumer"

pcdir=$(dirname "$(find "$prefix" -name weft.pc -print -quit)")
for form in "" "--static"; do
  echo "== install check: pkg-config consumer${form:+ ($form)}"
  flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs $form weft)
  echo "pkg-config --cflags --libs${form:+ $form} weft: $flags"
  # shellcheck disable=SC2086 # the flags are meant to split
  ${CXX:-g++} -std=c++20 -O2 "$consumer/main.cpp" -o "$tmp/weft_consumer_pc" $flags
  "$tmp/weft_consumer_pc"
done

echo "install check: passed"
