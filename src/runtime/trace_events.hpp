// src/runtime/trace_events.hpp: scheduler event recording.
//
// When tracing is on, each M appends events to its own buffer (no sharing on
// the hot path). When it is off, an event costs one relaxed load of a global
// flag and a predicted branch. A later issue streams these to the runtime
// server and exports them for Perfetto; today tests and tools read them back
// through trace_collect().
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "platform/spinlock.hpp"

namespace weft::detail {

enum class ev : std::uint8_t { go_create, go_start, go_block, go_unblock, go_end, steal, m_park, m_wake };
const char* ev_name(ev e) noexcept;

struct trace_event {
  std::int64_t ts;  // os::nanotime()
  std::uint64_t g;  // the goroutine concerned (0: none)
  std::uint64_t arg;  // create: the new G; steal: how many; unblock: the waker
  std::int32_t m;  // the M that recorded it
  ev type;
};

struct trace_buffer {
  spinlock lock;  // taken only while tracing is on
  std::vector<trace_event> events GUARDED_BY(lock);
};

extern std::atomic<bool> trace_on;

struct m;
void trace_record(m* mp, ev type, std::uint64_t g, std::uint64_t arg);

inline void trace_ev(m* mp, ev type, std::uint64_t g, std::uint64_t arg = 0) {
  if (__builtin_expect(trace_on.load(std::memory_order_relaxed), 0)) trace_record(mp, type, g, arg);
}

void trace_start();
// Stops tracing and returns every M's events, merged and ordered by time.
std::vector<trace_event> trace_stop();

}  // namespace weft::detail
