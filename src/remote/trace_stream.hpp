// src/remote/trace_stream.hpp: the runtime's events, streamed to a runtime
// server that records them (docs/protocol.md, "Trace events").
//
// A server that offers the "trace" capability in its Welcome asks every
// stub to stream. The stub then turns the runtime's event recording on
// (runtime/trace_events.hpp) before main runs, and a goroutine of its own
// drains the per-M buffers every drain_period into TraceEvents frames
// (one-way, id 0). At detach it stops recording and sends what is left
// before its Goodbye, so a clean exit loses nothing; a program killed
// mid-run leaves the server what arrived up to the last drain.
//
// Bounded: between two drains each M holds at most trace_buffer_limit
// events; more are dropped, counted, and reported as one `dropped` event.
// A frame carries at most max_events_per_frame events (well under the
// 16 MiB frame limit).
//
// Rejected: a frame per event as it happens (a lock and a system call on
// the scheduler's hot path); draining on the link's writer goroutine (it
// would wake up every period even when tracing is off).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <weft/mutex.hpp>

#include "remote/trace_encode.hpp"
#include "runtime/trace_events.hpp"
#include "wire/link.hpp"

namespace weft::remote::detail {

constexpr std::chrono::milliseconds drain_period{50};
constexpr std::size_t max_events_per_frame = 8192;

class trace_stream {
 public:
  explicit trace_stream(wire::link& l) : link_(l) {}
  trace_stream(const trace_stream&) = delete;
  trace_stream& operator=(const trace_stream&) = delete;

  // Turns recording on and starts the draining goroutine.
  // REQUIRES: inside weft::run, before the goroutines that should be named
  // in the trace are created.
  void start();
  // Stops recording and sends the rest. Idempotent.
  void finish() noexcept;

 private:
  void loop();
  // Sends batch_ as TraceEvents frames. REQUIRES: mu_.
  void send();

  wire::link& link_;
  weft::mutex mu_;  // one drain-and-send at a time: frames leave in time order
  // Kept from one drain to the next (guarded by mu_), so that each drain
  // reuses their memory.
  weft::detail::trace_batch batch_;
  std::string framed_;
  std::atomic<bool> finished_{false};
};

}  // namespace weft::remote::detail
