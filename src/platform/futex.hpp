// src/platform/futex.hpp: the OS's sleep/wake primitive, behind one seam.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::detail::os {

// Sleeps while *word == expected, at most timeout_ns (< 0: no limit).
// May return spuriously; callers re-check their condition.
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t timeout_ns);
void futex_wake(std::atomic<std::uint32_t>* word, int count);

// Monotonic nanoseconds (CLOCK_MONOTONIC: steady_clock's clock).
std::int64_t nanotime() noexcept;
// Cheap, a few ms coarse: for "waiting for how long" in dumps.
std::int64_t nanotime_coarse() noexcept;

}  // namespace weft::detail::os
