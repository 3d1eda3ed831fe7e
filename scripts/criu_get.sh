#!/usr/bin/env bash
# scripts/criu_get.sh: puts a CRIU that can move weft programs on this
# machine, without changing the system: Debian's own criu package from
# Debian unstable (4.2 or newer) and the libraries it needs, unpacked into
# one folder and run through that folder's own dynamic loader.
#
#   criu_get.sh [DIR]      DIR: WEFT_CRIU_DIR, else /opt/weft-criu
#
# Why not `apt-get install criu`: Debian 12 ships CRIU 3.17.1, which cannot
# start on Linux 6.13+ (the kernel split [vvar] into [vvar] and
# [vvar_vclock]; CRIU reads that as "vdso: Unexpected rt vDSO area bounds"),
# and Debian 13's 4.1.1 starts but cannot dump weft's goroutine stacks, whose
# guards are MADV_GUARD_INSTALL regions (Linux 6.13+; CRIU learnt them in
# 4.2). Unstable's criu needs a newer glibc than Debian 12's, so its glibc
# comes along in the folder and is used by that criu alone.
#
# It uses apt-get with a sources list and state of its own (under DIR/apt),
# so the machine's apt configuration and installed packages stay as they
# were. Idempotent: a DIR whose criu already passes `criu check` at 4.2 or
# newer is left alone. Prints the wrapper's path (DIR/criu) at the end;
# scripts/criu_move.sh finds it there.
set -euo pipefail

dir=${1:-${WEFT_CRIU_DIR:-/opt/weft-criu}}
die() {
  echo "criu_get.sh: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (CRIU itself needs root to run)"

usable() {
  [ -x "$dir/criu" ] || return 1
  local v
  v=$("$dir/criu" --version 2>/dev/null | awk '/^Version:/{print $2}')
  [ -n "$v" ] && [ "$(printf '%s\n4.2\n' "$v" | sort -V | head -n1)" = 4.2 ] && "$dir/criu" check >/dev/null 2>&1
}
if usable; then
  echo "$dir/criu"
  exit 0
fi

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "no $keyring: apt-get install debian-archive-keyring"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian sid main" > "$dir/apt/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$dir/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" -qq update || die "apt-get update of Debian unstable's package list failed"

# criu and everything it loads, from unstable (so the libraries agree with
# each other): the recursive Depends, less virtual packages.
mapfile -t pkgs < <(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances criu | grep -v '^ ' | grep -v '[<>]' | sort -u)
[ "${#pkgs[@]}" -gt 3 ] || die "could not list criu's dependencies in Debian unstable"
(cd "$dir/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -qq download "${pkgs[@]}") ||
  die "downloading ${pkgs[*]} failed"
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done

lib="$dir/root/usr/lib/x86_64-linux-gnu"
[ -x "$lib/ld-linux-x86-64.so.2" ] && [ -x "$dir/root/usr/sbin/criu" ] || die "the unpacked criu or its loader is missing under $dir/root"
cat > "$dir/criu" <<EOF
#!/bin/sh
# Debian unstable's criu with its own libraries (scripts/criu_get.sh).
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$dir/root/usr/sbin/criu" "\$@"
EOF
chmod 755 "$dir/criu"
rm -rf "$dir/apt/lists" "$dir/debs"  # 40 MB of package lists and the .debs: no longer needed
usable || die "the unpacked criu does not pass 'criu check': $("$dir/criu" check 2>&1 | grep -m1 Error)"
echo "$dir/criu"
