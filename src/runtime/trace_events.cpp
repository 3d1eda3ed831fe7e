// src/runtime/trace_events.cpp: recording and collecting scheduler events.
#include "runtime/trace_events.hpp"

#include <algorithm>
#include <mutex>

#include "platform/futex.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

std::atomic<bool> trace_on{false};

const char* ev_name(ev e) noexcept {
  switch (e) {
    case ev::go_create: return "go_create";
    case ev::go_start: return "go_start";
    case ev::go_block: return "go_block";
    case ev::go_unblock: return "go_unblock";
    case ev::go_end: return "go_end";
    case ev::steal: return "steal";
    case ev::m_park: return "m_park";
    case ev::m_wake: return "m_wake";
  }
  return "?";
}

void trace_record(m* mp, ev type, std::uint64_t g, std::uint64_t arg) {
  if (mp == nullptr) return;
  lock_scope lk(mp->trace.lock);
  mp->trace.events.push_back(trace_event{os::nanotime(), g, arg, mp->id, type});
}

void trace_start() {
  lock_scope lk(sched.lock);
  for (m* mp : sched.allm) {
    lock_scope l2(mp->trace.lock);
    mp->trace.events.clear();
  }
  trace_on.store(true, std::memory_order_release);
}

std::vector<trace_event> trace_stop() {
  trace_on.store(false, std::memory_order_release);
  std::vector<trace_event> all;
  lock_scope lk(sched.lock);
  for (m* mp : sched.allm) {
    lock_scope l2(mp->trace.lock);
    all.insert(all.end(), mp->trace.events.begin(), mp->trace.events.end());
    mp->trace.events.clear();
  }
  std::stable_sort(all.begin(), all.end(), [](const trace_event& a, const trace_event& b) { return a.ts < b.ts; });
  return all;
}

}  // namespace weft::detail
