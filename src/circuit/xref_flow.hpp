// src/circuit/xref_flow.hpp: the identity of one xref call in traces
// (TraceEvent kinds xref_call/xref_reply at the caller, xref_serve/
// xref_served at the callee; docs/protocol.md, "Trace events").
//
// Both ends must compute it alone, from what each knows of the call: the
// caller's pid, the callee's pid (each learns the other's from the
// handshake, ProcessInfo.pid) and the link's call id (Frame.id, numbered
// by the calling side of one link). The pids tell apart the links of one
// process to several peers, whose call ids all start at 1; the mix spreads
// them over 64 bits, so flows of several processes merged into one
// document do not collide (a redialed link restarts its ids: two calls of
// one pair of processes may then share an id, a rare, harmless mislink).
#pragma once

#include <cstdint>

namespace weft::circuit::detail {

constexpr std::uint64_t xref_flow_id(std::int64_t caller_pid, std::int64_t callee_pid, std::uint64_t call_id) {
  std::uint64_t x = (static_cast<std::uint64_t>(caller_pid) << 32) ^ static_cast<std::uint64_t>(callee_pid);
  // splitmix64's finalizer: a bijection, so distinct pairs stay distinct.
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x ^ call_id;
}

}  // namespace weft::circuit::detail
