// src/testing.hpp: what tests may see of the runtime's internals. Never
// installed; include it only from tests/ and bench/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/faults.hpp"
#include "runtime/runtime.hpp"
#include "runtime/stack.hpp"
#include "runtime/trace_events.hpp"

namespace weft::testing {

using detail::ev;
using detail::trace_batch;
using detail::trace_buffer_limit;
using detail::trace_event;

// Scheduler event tracing (runtime/trace_events.hpp).
inline void trace_start() { detail::trace_start(); }
inline std::vector<trace_event> trace_stop() { return detail::trace_stop(); }
inline trace_batch trace_drain() { return detail::trace_drain(); }
inline trace_batch trace_finish() { return detail::trace_finish(); }  // stop, and drain what was left

// The M running the caller (-1 outside the runtime).
int current_m_id() noexcept;
// Goroutines started and not yet finished.
std::int64_t live_goroutines() noexcept;
// How many Ms (threads) the runtime has started in this weft::run.
int m_count() noexcept;
// How many times this weft::run woke an idle M, or started one, to give it
// a P (proc.cpp, startm).
std::uint64_t m_wakeups() noexcept;
// Marks the calling goroutine as one that parks soon after it readies
// another, for the scope's life (runtime/runtime.hpp).
using detail::parks_soon_scope;
// Whether the scheduler has learned that the calling goroutine parks soon
// after it readies another, so its readies wake no other M (parks_soon.cpp).
bool learned_it_parks_soon() noexcept;
// How many readies of this weft::run skipped wakep because their readier
// was expected to park soon (all Ps' p.skipped_wakes).
std::uint64_t skipped_wakes() noexcept;

inline detail::stack_stats stack_stats() { return detail::stacks_stats(); }
// The calling goroutine's usable stack [lo, hi) and the size of the guard
// below lo (0 when its stack has none). REQUIRES: called from a goroutine.
struct stack_bounds {
  char* lo;
  char* hi;
  std::size_t guard;
};
stack_bounds current_stack() noexcept;

// Wakes every M asleep on the idle list, as a late waker would (a thread
// that readied a G for an M that was bound then and is idle now). Returns
// how many it woke.
int wake_idle_ms() noexcept;
// What is wrong with the idle lists (an M listed twice, an M listed while
// it holds a P, counts that do not match), or "" if nothing.
std::string idle_list_problems();

// Whether sysmon sleeps because every P is idle (runtime/sysmon.cpp).
bool sysmon_in_deep_sleep() noexcept;
// How many deep sleeps sysmon began in this weft::run.
std::uint64_t sysmon_deep_sleeps() noexcept;
// Whether an idle M waits in the network poller (proc.cpp, m_idle).
bool an_m_waits_in_the_poller() noexcept;

// Timers armed on all Ps' heaps (sleepers and channel timers alike).
// REQUIRES: inside weft::run.
std::size_t armed_timers() noexcept;

// Fault injection (platform/faults.hpp): the next `count` calls at a fault
// point (mmap, accept, read, write) fail with errno err without reaching
// the kernel, or, with err == 0, move at most max_bytes (read, write).
using detail::os::fault_point;
inline void inject_faults(fault_point point, int count, int err, std::size_t max_bytes = 1) noexcept {
  detail::os::inject_faults(point, count, err, max_bytes);
}
inline void clear_faults() noexcept { detail::os::clear_faults(); }
inline int faults_left(fault_point point) noexcept { return detail::os::faults_left(point); }
// Disarms every fault point when the scope ends (a failed assertion too).
struct fault_scope {
  fault_scope() = default;
  fault_scope(const fault_scope&) = delete;
  fault_scope& operator=(const fault_scope&) = delete;
  ~fault_scope() { clear_faults(); }
};

}  // namespace weft::testing
