// src/server/migrate_wait.hpp: how migrate_host's coordinators wait for
// their events (protocol and invariants in migrate_host.hpp). Shared by
// the files of migrate_host, never under its mutex.
#pragma once

#include <chrono>
#include <optional>
#include <utility>

#include <weft/chan.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>

namespace weft::server::migrate_detail {

// The next event, or nullopt after `timeout` (a negative one: never).
template <class E>
std::optional<E> next_event(weft::chan<E>& events, std::chrono::nanoseconds timeout) {
  if (timeout.count() < 0) return events.recv();
  std::optional<E> got;
  weft::select(weft::on_recv(events, [&](std::optional<E>&& e) { got = std::move(e); }),
               weft::on_recv(weft::after(timeout), [] {}));
  return got;
}

}  // namespace weft::server::migrate_detail
