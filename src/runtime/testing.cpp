// src/runtime/testing.cpp: the internals that src/testing.hpp exposes.
#include "testing.hpp"

#include <mutex>

#include "runtime/runtime.hpp"

namespace weft::testing {

int current_m_id() noexcept {
  detail::m* mp = detail::this_m();
  return mp ? mp->id : -1;
}

std::int64_t live_goroutines() noexcept { return detail::sched.live_goroutines.load(); }

int m_count() noexcept {
  std::lock_guard lk(detail::sched.lock);
  return detail::sched.mcount;
}

std::size_t armed_timers() noexcept {
  std::size_t n = 0;
  for (detail::p* pp : detail::sched.allp) n += pp->timers.size();
  return n;
}

}  // namespace weft::testing
