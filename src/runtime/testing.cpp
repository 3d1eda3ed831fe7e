// src/runtime/testing.cpp: the internals that src/testing.hpp exposes.
#include "testing.hpp"

#include <mutex>
#include <set>
#include <string>

#include "runtime/runtime.hpp"

namespace weft::testing {

int current_m_id() noexcept {
  detail::m* mp = detail::this_m();
  return mp ? mp->id : -1;
}

stack_bounds current_stack() noexcept {
  const detail::stack& s = detail::this_g()->stk;
  return {s.lo, s.hi, s.guarded ? detail::stack_guard_size(s.cls) : 0};
}

std::int64_t live_goroutines() noexcept { return detail::live_goroutine_count(); }

std::uint64_t m_wakeups() noexcept { return detail::sched.m_wakeups.load(std::memory_order_relaxed); }

bool learned_it_parks_soon() noexcept { return detail::learned_it_parks_soon(detail::this_g()); }

std::uint64_t skipped_wakes() noexcept {
  std::uint64_t n = 0;
  for (const detail::p* pp : detail::sched.allp) n += pp->skipped_wakes.load(std::memory_order_relaxed);
  return n;
}

int m_count() noexcept {
  detail::lock_scope lk(detail::sched.lock);
  return detail::sched.mcount;
}

bool sysmon_in_deep_sleep() noexcept { return detail::sched.sysmon_deep.load(std::memory_order_seq_cst) != 0; }

std::uint64_t sysmon_deep_sleeps() noexcept { return detail::sched.sysmon_deep_sleeps.load(std::memory_order_relaxed); }

bool an_m_waits_in_the_poller() noexcept {
  detail::lock_scope lk(detail::sched.lock);
  return detail::sched.timer_waiter != nullptr && detail::sched.waiter_polls;
}

int wake_idle_ms() noexcept {
  detail::lock_scope lk(detail::sched.lock);
  int n = 0;
  for (detail::m* mp = detail::sched.midle; mp && n < detail::sched.nmidle; mp = mp->schedlink, ++n) mp->park.wakeup();
  return n;
}

std::string idle_list_problems() {
  detail::lock_scope lk(detail::sched.lock);
  std::string problems;
  std::set<detail::m*> seen;
  int listed = 0;
  // Bounded: a list with a cycle (an M pushed twice) must not hang the test.
  for (detail::m* mp = detail::sched.midle; mp && listed <= detail::sched.mcount; mp = mp->schedlink, ++listed) {
    if (!seen.insert(mp).second) problems += "M" + std::to_string(mp->id) + " is on the idle list twice; ";
    if (mp->pp)
      problems += "M" + std::to_string(mp->id) + " is on the idle list holding P" + std::to_string(mp->pp->id) + "; ";
  }
  if (listed != detail::sched.nmidle)
    problems += "the idle list holds " + std::to_string(listed) + " Ms, nmidle says " +
                std::to_string(detail::sched.nmidle) + "; ";
  int idle_ps = 0;
  for (detail::p* pp = detail::sched.pidle; pp && idle_ps <= detail::sched.procs; pp = pp->link) ++idle_ps;
  if (idle_ps != detail::sched.npidle.load())
    problems += "the idle P list holds " + std::to_string(idle_ps) + " Ps, npidle says " +
                std::to_string(detail::sched.npidle.load()) + "; ";
  return problems;
}

std::size_t armed_timers() noexcept {
  std::size_t n = 0;
  for (detail::p* pp : detail::sched.allp) n += pp->timers.size();
  return n;
}

}  // namespace weft::testing
