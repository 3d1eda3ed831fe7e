#!/usr/bin/env bash
# scripts/criu_move.sh: moves a whole running process with CRIU: dumps it
# (the process ends), copies the images as they would travel to another
# host, and restores it from the copy, optionally inside another network
# namespace (a "host" of scripts/cluster/netns.sh). docs/migration-criu.md
# says what works for weft programs and what does not.
#
#   criu_move.sh [options] PID
#     --to-netns NS   restore inside network namespace NS (ip netns exec)
#     --tcp           the process has established TCP connections
#                     (criu --tcp-established: repaired on restore)
#     --ext-unix      the process has Unix sockets whose peer stays behind
#                     (criu --ext-unix-sk)
#     --dir DIR       keep the images in DIR (default: a temporary folder,
#                     removed at the end)
#     --before-restore CMD
#                     run CMD (bash -c) between the copy and the restore:
#                     e.g. move the process's IP address to the new host,
#                     which a restored TCP connection needs (its address is
#                     bound again as it was); give the new host the
#                     address here, but announce it (gratuitous ARP,
#                     neighbour flush) only with --after-restore: a packet
#                     that reaches the new host before the socket is back
#                     is answered with a reset, and the connection is lost
#     --after-restore CMD
#                     run CMD once the process runs again (announce the
#                     moved address); counted in pause_ms
#     --check         only say whether a usable CRIU is here (exit 0 or 3)
#     --leave-running dump without ending the process (a snapshot; the
#                     restore then fails while the original holds its pid)
#
# CRIU is $CRIU if set, else scripts/criu_get.sh's install if present, else
# `criu` on PATH. It must run here (`criu check`) and be 4.2 or newer: weft's
# goroutine stacks carry MADV_GUARD_INSTALL guards (Linux 6.13+), which CRIU
# before 4.2 cannot dump ("Can't splice all pages to pipe").
#
# Prints one line "criu_move: pid P rss_kb=R image_bytes=B dump_ms=D
# reap_ms=W copy_ms=C restore_ms=T pause_ms=Z" (reap_ms: until the dumped
# process's pid is free again; copy_ms includes --before-restore; pause_ms:
# from the dump's start until the process runs again and --after-restore
# has run) and exits 0 once the process runs again (restored
# detached, under the same pid). Exit 1: the dump or the restore failed (the
# CRIU log's error lines are printed, the log path named); 2: usage; 3: no
# usable CRIU here (the reason is printed: the test skips on it). A failed
# dump leaves the process running; a failed restore leaves the images (named)
# so the restore can be retried.
set -uo pipefail

die() {
  echo "criu_move.sh: $*" >&2
  exit "${code:-1}"
}
usage() { code=2 die "$* (usage: criu_move.sh [--to-netns NS] [--tcp] [--ext-unix] [--dir DIR] [--before-restore CMD] [--after-restore CMD] [--leave-running] PID | --check)"; }

netns="" pid="" dir="" keep=0 before="" after="" check_only=0
extra=()        # both dump and restore
dump_only=()
while [ $# -gt 0 ]; do
  case $1 in
    --to-netns) [ $# -ge 2 ] || usage "--to-netns needs a namespace"; netns=$2; shift 2 ;;
    --tcp) extra+=(--tcp-established); shift ;;
    --ext-unix) extra+=(--ext-unix-sk); shift ;;
    --dir) [ $# -ge 2 ] || usage "--dir needs a folder"; dir=$2; keep=1; shift 2 ;;
    --before-restore) [ $# -ge 2 ] || usage "--before-restore needs a command"; before=$2; shift 2 ;;
    --after-restore) [ $# -ge 2 ] || usage "--after-restore needs a command"; after=$2; shift 2 ;;
    --leave-running) dump_only+=(--leave-running); shift ;;
    --check) check_only=1; shift ;;
    -*) usage "unknown option $1" ;;
    *) [ -z "$pid" ] || usage "one PID only"; pid=$1; shift ;;
  esac
done
[ "$(id -u)" = 0 ] || code=3 die "needs root (CRIU reads and rebuilds another process)"

# Which CRIU, and can it run here at all.
criu_bin=${CRIU:-}
if [ -z "$criu_bin" ]; then
  if [ -x "${WEFT_CRIU_DIR:-/opt/weft-criu}/criu" ]; then
    criu_bin=${WEFT_CRIU_DIR:-/opt/weft-criu}/criu
  else
    criu_bin=$(command -v criu) || code=3 die "no criu: run scripts/criu_get.sh (Debian's CRIU 4.2), or set CRIU"
  fi
fi
version=$("$criu_bin" --version 2>/dev/null | awk '/^Version:/{print $2}')
if ! check=$("$criu_bin" check 2>&1); then
  reason=$(echo "$check" | grep -m1 Error | sed 's/^Error ([^)]*): //')
  code=3 die "criu ${version:-?} ($criu_bin) cannot run here: ${reason:-$(echo "$check" | head -n1)}"
fi
major=${version%%.*} rest=${version#*.}
minor=${rest%%.*}
if [ "${major:-0}" -lt 4 ] || { [ "$major" = 4 ] && [ "${minor:-0}" -lt 2 ]; }; then
  code=3 die "criu $version ($criu_bin) is older than 4.2: it cannot dump MADV_GUARD_INSTALL stack guards (weft's goroutine stacks); run scripts/criu_get.sh"
fi
if [ "$check_only" = 1 ]; then
  echo "criu_move: criu $version ($criu_bin) can move weft programs here"
  exit 0
fi
[[ "$pid" =~ ^[0-9]+$ ]] || usage "a PID is needed"
[ -d "/proc/$pid" ] || die "no process $pid"
if [ -n "$netns" ]; then
  ip netns list | awk '{print $1}' | grep -qx "$netns" || die "no network namespace $netns (ip netns list)"
fi

if [ -z "$dir" ]; then
  dir=$(mktemp -d /tmp/weft-criu-XXXXXX)
fi
mkdir -p "$dir/dump" "$dir/restore" || die "cannot make $dir"
cleanup() { [ "$keep" = 1 ] || rm -rf "$dir"; }
trap cleanup EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }
errors() { grep -E 'Error|Warn' "$1" | grep -v RLIMIT_NOFILE | tail -n 8 >&2; }

rss_kb=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")
# --shell-job: the process may share its session and group with the shell
# that started it (a worker of weftd leads its own; the flag is harmless).
# CRIU dumps the namespaces a process does not share with CRIU itself; a
# process started by `ip netns exec` has a network and a mount namespace of
# its own, whose mounts (/run/netns/...) CRIU refuses ("unreachable
# sharing"). Run in the process's own namespaces, CRIU sees them as the
# host's and leaves them out: the restore puts the process in whatever
# namespaces it runs in (--to-netns).
t0=$(ms)
if ! nsenter -t "$pid" -m -n -- "$criu_bin" dump -t "$pid" -D "$dir/dump" --shell-job "${extra[@]}" "${dump_only[@]}" -o dump.log -v4; then
  errors "$dir/dump/dump.log"
  keep=1
  die "dump of $pid failed (the process runs on); log: $dir/dump/dump.log"
fi
t1=$(ms)
# The restore needs the pid back: the dumped process must have been reaped
# (its parent's wait, or init's for an orphan).
if [ "${#dump_only[@]}" = 0 ]; then
  for _ in $(seq 1 500); do [ -d "/proc/$pid" ] || break; sleep 0.01; done
  if [ -d "/proc/$pid" ]; then
    keep=1
    die "pid $pid is still taken after the dump ($(awk '{print "state " $3 ", parent " $4}' "/proc/$pid/stat")): its parent has not reaped it, so it cannot be restored under its pid; images in $dir/dump"
  fi
fi
t1r=$(ms)
# The copy another host would receive (scp, rsync): a stream of the folder.
tar -C "$dir/dump" -cf - . | tar -C "$dir/restore" -xf - || die "copying the images failed"
if [ -n "$before" ] && ! bash -c "$before"; then
  keep=1
  die "--before-restore command failed: $before (images kept in $dir/restore)"
fi
t2=$(ms)
image_bytes=$(du -sb "$dir/restore" | cut -f1)
restore=("$criu_bin" restore -D "$dir/restore" --shell-job -d "${extra[@]}" -o restore.log -v4)
[ -z "$netns" ] || restore=(ip netns exec "$netns" "${restore[@]}")
if ! "${restore[@]}"; then
  errors "$dir/restore/restore.log"
  keep=1
  die "restore of $pid failed; images and log kept in $dir/restore (retry: ${restore[*]})"
fi
t3=$(ms)
[ -d "/proc/$pid" ] || die "restore reported success but no process $pid runs"
if [ -n "$after" ] && ! bash -c "$after"; then
  die "--after-restore command failed: $after (the process runs as pid $pid)"
fi
t4=$(ms)
echo "criu_move: pid $pid rss_kb=$rss_kb image_bytes=$image_bytes dump_ms=$((t1 - t0)) reap_ms=$((t1r - t1)) copy_ms=$((t2 - t1r)) restore_ms=$((t3 - t2)) pause_ms=$((t4 - t0))"
