// src/time/sleep.hpp: sleeping on a runtime timer, shared by sleep.cpp and
// sleep_stop.cpp. Design at the top of sleep.cpp.
#pragma once

#include <chrono>
#include <cstdint>

namespace weft::detail {

// Parks the calling goroutine (or sleeps the plain thread) until `when`
// (os::nanotime()); sleep.cpp.
void sleep_until_ns(std::int64_t when);
// now + d, saturating as deadline_after does (chan_timer.cpp): for a caller
// that keeps the clock read it made.
std::int64_t deadline_from(std::int64_t now, std::chrono::nanoseconds d) noexcept;

}  // namespace weft::detail
