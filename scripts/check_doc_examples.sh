#!/usr/bin/env bash
# scripts/check_doc_examples.sh: the guides in docs/ quote their example
# programs whole; this checks that each quote is still the file.
#
#   scripts/check_doc_examples.sh            checks every docs/*.md
#   scripts/check_doc_examples.sh --update   rewrites the quotes from the files
#
# A quote is a line `<!-- quote: examples/NAME.cpp -->` followed by a fenced
# ```cpp block; the block must equal the file byte for byte. Exit status 1 if
# one differs (with a diff) or names a file that does not exist.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo" || exit 1
status=0
quotes=0
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT

if [ "${1:-}" = "--update" ]; then
  for doc in docs/*.md; do
    grep -q '^<!-- quote: ' "$doc" || continue
    # Prints the marker, then the file in a fresh fence; drops the old block.
    awk '
      skip == 1 && /^```cpp$/ { skip = 2; next }
      skip == 2 { if (/^```$/) skip = 0; next }
      /^<!-- quote: .* -->$/ {
        print
        path = $0
        sub(/^<!-- quote: /, "", path)
        sub(/ -->$/, "", path)
        print "```cpp"
        while ((getline line < path) > 0) print line
        close(path)
        print "```"
        skip = 1
        next
      }
      { print }
    ' "$doc" >"$tmp" && cp "$tmp" "$doc"
  done
fi

for doc in docs/*.md; do
  while IFS= read -r path; do
    quotes=$((quotes + 1))
    if [ ! -f "$path" ]; then
      echo "check_doc_examples: $doc quotes $path, which does not exist" >&2
      status=1
      continue
    fi
    # The fenced block right after the marker naming $path.
    awk -v want="<!-- quote: $path -->" '
      $0 == want { armed = 1; next }
      armed == 1 && /^```cpp$/ { armed = 2; next }
      armed == 2 && /^```$/ { exit }
      armed == 2 { print }
    ' "$doc" >"$tmp"
    if ! diff -u --label "$path" --label "$doc (quote)" "$path" "$tmp"; then
      echo "check_doc_examples: $doc quotes $path, and the quote is out of date" >&2
      status=1
    fi
  done < <(sed -n 's/^<!-- quote: \(.*\) -->$/\1/p' "$doc")
done

[ $status -eq 0 ] && echo "check_doc_examples: $quotes quote(s) match their files"
exit $status
