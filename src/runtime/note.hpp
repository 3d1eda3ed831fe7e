// src/runtime/note.hpp: the sleep/wake-up of an idle M.
//
// An M with nothing to do sleeps on its note until startm (or a timer) wakes
// it. Waking a thread asleep in the kernel costs the waker a system call
// (microseconds on a VM), and the scheduler wakes Ms speculatively whenever
// work appears (wakep), often just after the M went idle. So a sleeper first
// spins for a few microseconds; a wake-up that arrives then is one atomic
// exchange, and only a sleeper that reached the kernel is woken with futex.
#pragma once

#include <atomic>
#include <cstdint>

#include "platform/futex.hpp"
#include "platform/spinlock.hpp"

namespace weft::detail {

class note {
 public:
  // The spin adapts as find_runnable's does (proc.cpp): halved after a spin
  // that ended in the kernel, doubled after one that caught its wake-up.
  static constexpr std::int64_t spin_max_ns = 20'000;
  static constexpr std::int64_t spin_min_ns = 1'000;

  // REQUIRES: no sleeper. Arms the note for the next sleep.
  void clear() noexcept { word_.store(empty, std::memory_order_relaxed); }

  // REQUIRES: no sleeper. Disarms a wake-up already seen, to sleep again:
  // an exchange, so whatever the waker stored before its wakeup() is
  // visible after this even if that wake-up came after the one seen.
  void clear_after_wakeup() noexcept { word_.exchange(empty, std::memory_order_acq_rel); }

  void wakeup() noexcept {
    if (word_.exchange(woken, std::memory_order_acq_rel) == in_kernel) os::futex_wake(&word_, 1);
  }

  // Sleeps until wakeup() or until `deadline` (os::nanotime; INT64_MAX: no
  // limit). True if woken.
  bool sleep_until(std::int64_t deadline) noexcept {
    std::int64_t now = os::nanotime();
    std::int64_t spin_until = now + spin_ns_ < deadline ? now + spin_ns_ : deadline;
    while (now < spin_until) {
      for (int i = 0; i < 32; ++i) {
        if (word_.load(std::memory_order_acquire) == woken) {
          spin_ns_ = spin_ns_ * 2 < spin_max_ns ? spin_ns_ * 2 : spin_max_ns;
          return true;
        }
        cpu_relax();
      }
      now = os::nanotime();
    }
    if (spin_until < deadline) spin_ns_ = spin_ns_ / 2 > spin_min_ns ? spin_ns_ / 2 : spin_min_ns;
    for (;;) {
      std::uint32_t v = empty;
      if (!word_.compare_exchange_strong(v, in_kernel, std::memory_order_acq_rel) && v == woken) return true;
      if (deadline != INT64_MAX) {
        now = os::nanotime();
        if (now >= deadline) return word_.load(std::memory_order_acquire) == woken;
      }
      os::futex_wait(&word_, in_kernel, deadline == INT64_MAX ? -1 : deadline - now);
      if (word_.load(std::memory_order_acquire) == woken) return true;
    }
  }

 private:
  static constexpr std::uint32_t empty = 0, woken = 1, in_kernel = 2;
  std::atomic<std::uint32_t> word_{empty};
  std::int64_t spin_ns_ = spin_min_ns;  // the sleeper's only; starts short, as m::spin_ns
};

}  // namespace weft::detail
