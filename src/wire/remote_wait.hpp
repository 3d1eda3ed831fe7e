// src/wire/remote_wait.hpp: the wait reasons under which goroutine
// statistics count the time a goroutine spends waiting on a remote
// operation (runtime/gstats.hpp, wait_label_scope), below both the stub
// that sets them and weftd, which reads them back (`weft migrate --to
// auto`, server/migrate_facts.hpp).
//
// Why labels rather than the parks' own reasons: a remote operation parks
// on a semaphore (a request's reply), a select (a remote channel's offer)
// or a channel (an xref call's future), the same reasons local code parks
// under; only the code around the wait knows it is remote. The strings
// are part of the protocol (BlockedTime.reason, docs/protocol.md).
#pragma once

#include <string_view>

namespace weft::wire {

// A request to the runtime server: remote channels and variables, and
// any other call a stub makes to its server.
inline constexpr char wait_runtime_server[] = "remote: runtime server";
// A call through an xref, over a circuit peer link (another worker).
inline constexpr char wait_xref_call[] = "remote: xref call";

enum class remote_wait { none, server, peer };

inline remote_wait remote_wait_of(std::string_view reason) noexcept {
  if (reason == wait_runtime_server) return remote_wait::server;
  if (reason == wait_xref_call) return remote_wait::peer;
  return remote_wait::none;
}

}  // namespace weft::wire
