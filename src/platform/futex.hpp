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
// Cheap, a few ms coarse: the clock's time at its last tick (no TSC read).
// Never ahead of nanotime(), and behind it by at most
// nanotime_coarse_lag(): so "a deadline further than the lag past the coarse
// time has not come" holds without reading the precise clock.
std::int64_t nanotime_coarse() noexcept;
std::int64_t nanotime_coarse_lag() noexcept;

}  // namespace weft::detail::os
