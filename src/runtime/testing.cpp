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

}  // namespace weft::testing
