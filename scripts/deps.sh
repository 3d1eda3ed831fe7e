# scripts/deps.sh: shell helpers shared by test.sh, demo.sh and .ci/run.
# Source it (". scripts/deps.sh"); running it directly installs the packages.
#
#   weft_install_deps    installs the Debian 12 packages weft needs to build,
#                        test and benchmark; does nothing when all are present.
#                        Uses sudo when not root. WEFT_SKIP_DEPS=1 skips it.
#   weft_step LABEL CMD  runs CMD and prints one timing line for it.

# Why each package is here: README.md, "Dependencies".
WEFT_DEB_PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  mold                              # a faster linker: CI links ~70 test programs per preset
  clang libclang-rt-14-dev          # the TSan preset builds with clang 14
  libboost-context-dev              # the machine-level context switch
  libunwind-dev libdw-dev           # goroutine stack traces, symbolized
  libgtest-dev libgmock-dev googletest
  libmsgpack-cxx-dev                # weft::codec: values that cross processes
  libprotobuf-dev protobuf-compiler # the runtime protocol's messages (proto/)
  libssl-dev                        # the cluster key's HMAC-SHA256 and challenges, TLS (OpenSSL)
  zlib1g-dev                        # gzip for CPU profiles (pprof's files are gzip-compressed)
  clang-format                      # scripts/check_format
  libcli11-dev                      # weftd's (and later weft's) command-line parsing
  etcd-server                       # the cluster backbone: src/etcd/'s tests run a real etcd
  golang-etcd-server-dev            # etcd's v3 .proto files (rpc.proto, kv.proto), compiled for src/etcd/
  libgrpc++-dev protobuf-compiler-grpc  # gRPC, etcd's v3 API: the library and protoc's C++ plugin
  golang-go libboost-fiber-dev      # benchmark peers; go tool pprof reads weft cpu's profiles in a test
  liburing-dev                      # io_uring: batched socket writes (src/runtime/send_batch.cpp), bench/io_uring_probe
  python3                           # bench/run's result tooling
  python3-protobuf python3-msgpack  # examples/python_server: the protocol from another language
  iproute2                          # the cluster suite's hosts: network namespaces, veth pairs, a bridge
  chromium                          # weft ui's test: a real headless browser loads and clicks the page
)

weft_missing_deps() {
  local p
  for p in "${WEFT_DEB_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      echo "$p"
    fi
  done
}

weft_install_deps() {
  if [ "${WEFT_SKIP_DEPS:-0}" = 1 ]; then
    echo "deps: skipped (WEFT_SKIP_DEPS=1)"
    return 0
  fi
  if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "deps: not a Debian system; install by hand: ${WEFT_DEB_PACKAGES[*]}" >&2
    return 0
  fi
  local missing
  mapfile -t missing < <(weft_missing_deps)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#WEFT_DEB_PACKAGES[@]} packages present"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  echo "deps: installing ${missing[*]}"
  local try
  for try in 1 2 3; do
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q && break
    [ "$try" = 3 ] && return 1
    echo "deps: apt-get update failed; retrying" >&2
    sleep $((try * 10))
  done
  for try in 1 2 3; do
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "${missing[@]}" && return 0
    [ "$try" = 3 ] && return 1
    echo "deps: apt-get install failed; retrying" >&2
    sleep $((try * 10))
  done
}

weft_step() {
  local label=$1 start rc errexit=0
  shift
  start=$(date +%s)
  echo "==> $label"
  # A subshell with errexit on: "cmd || rc=$?" would switch off set -e inside
  # a shell function passed as CMD.
  case $- in *e*) errexit=1 ;; esac
  set +e
  (set -e; "$@")
  rc=$?
  [ $errexit = 1 ] && set -e
  if [ $rc -eq 0 ]; then
    printf '==> %-40s ok in %ds\n' "$label" $(($(date +%s) - start))
  else
    printf '==> %-40s FAILED (exit %d) after %ds\n' "$label" $rc $(($(date +%s) - start))
  fi
  return $rc
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  weft_install_deps
fi
