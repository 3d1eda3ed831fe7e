#!/usr/bin/env bash
# tests/compile/check.sh CXX INCLUDE_DIR: what a user sees when a program
# misuses weft at compile time. Each misuse must fail with exactly one
# error, and that error must say what is wrong:
#   - weft::go / scope::go with arguments that do not fit f (misuse.cpp);
#   - weft::go_migratable with a state that cannot cross processes;
#   - any public header compiled as C++17: "weft needs C++20", once.
# Syntax-only compiles, about a second each.
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 CXX INCLUDE_DIR" >&2
  exit 2
fi
cxx=$1
include=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failures=0

# compile NAME EXPECT FLAGS...: the compile must fail with one error line
# (not counting the fatal stop of cxx20.hpp) that contains EXPECT.
expect_one_error() {
  local name=$1 expect=$2
  shift 2
  local out
  if out=$("$cxx" -fsyntax-only -I"$include" "$@" 2>&1); then
    echo "FAIL $name: compiled, but must not"
    failures=$((failures + 1))
    return
  fi
  local errors
  errors=$(grep -E '(fatal )?error:' <<<"$out" | grep -v 'compilation stopped here')
  if [ "$(grep -c . <<<"$errors")" -ne 1 ] || ! grep -qF -- "$expect" <<<"$errors"; then
    echo "FAIL $name: wanted exactly one error saying \"$expect\"; the compiler said:"
    echo "$out" | head -40
    failures=$((failures + 1))
    return
  fi
  echo "ok   $name: $(sed -E 's/.*error: //' <<<"$errors" | cut -c1-110)"
}

src=$here/misuse.cpp
if ! out=$("$cxx" -std=c++20 -fsyntax-only -I"$include" -DCASE=0 "$src" 2>&1); then
  echo "FAIL good: the correct calls do not compile:"
  echo "$out" | head -40
  exit 1
fi
echo "ok   good: the correct calls compile"
expect_one_error go_ref "weft::go: f takes a parameter by non-const reference" -std=c++20 -DCASE=1 "$src"
expect_one_error go_ref "pass std::ref(x)" -std=c++20 -DCASE=1 "$src"
expect_one_error go_args "weft::go: f cannot be called with these arguments" -std=c++20 -DCASE=2 "$src"
expect_one_error go_copy "weft::go: f or an argument cannot be copied" -std=c++20 -DCASE=3 "$src"
expect_one_error go_options_ref "pass std::ref(x)" -std=c++20 -DCASE=4 "$src"
expect_one_error scope_ref "weft::scope::go: f takes a parameter by non-const reference" -std=c++20 -DCASE=5 "$src"
expect_one_error scope_args "weft::scope::go: f cannot be called with these arguments" -std=c++20 -DCASE=6 "$src"
expect_one_error migrate_local "a local weft::chan or a pointer cannot move" -std=c++20 -DCASE=7 "$src"
expect_one_error migrate_args "weft::go_migratable<f>(state): f must be callable as f(State&)" -std=c++20 -DCASE=8 "$src"

# Every public header, alone, as C++17.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-compile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for h in "$include"/weft/*.hpp; do
  stem=$(basename "$h")
  echo "#include <weft/$stem>" >"$tmp/$stem.cpp"
  expect_one_error "c++17 $stem" "weft needs C++20" -std=c++17 "$tmp/$stem.cpp"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures compile checks failed"
  exit 1
fi
echo "compile checks: passed"
