#!/usr/bin/env bash
# ./demo.sh: installs what weft needs (Debian 12), builds the release preset,
# runs the examples (examples/run runs each one from build/release/examples/)
# and then the split runtime: two processes sharing a weftd's channel, the
# conformance suite, and weft remote (scripts/demo_remote.sh); and the circuit:
# workers spawned under anchors, listed and killed (scripts/demo_circuit.sh),
# a goroutine moved between processes while it consumes a remote channel
# (scripts/demo_migrate.sh),
# and across three hosts made of network namespaces, with etcd (as root:
# scripts/demo_hosts.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. scripts/deps.sh

weft_step "deps" weft_install_deps
weft_step "configure release" cmake --preset release
weft_step "build release" cmake --build --preset release
if [ ! -x examples/run ]; then
  echo "demo.sh: examples/run is not there yet" >&2
  exit 1
fi
examples/run
scripts/demo_remote.sh build/release
scripts/demo_circuit.sh build/release
scripts/demo_migrate.sh build/release
exec scripts/demo_hosts.sh build/release
