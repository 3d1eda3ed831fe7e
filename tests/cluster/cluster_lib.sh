# tests/cluster/cluster_lib.sh: what the cluster checks share. Source it
# after setting $netns (scripts/cluster/netns.sh) and $dir (the check's
# temporary directory, whose *.log files a failure prints).

# fail WHY: prints WHY and the tail of every log, and ends the check.
fail() {
  echo "FAIL: $*"
  for f in "$dir"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
  exit 1
}

# on HOST CMD...: runs CMD in that host's namespace.
on() {
  local host=$1
  shift
  "$netns" exec "$host" "$@"
}
