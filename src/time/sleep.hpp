// src/time/sleep.hpp: sleeping on a runtime timer, shared by sleep.cpp and
// sleep_stop.cpp. Design at the top of sleep.cpp.
#pragma once

#include <cstdint>

namespace weft::detail {

// Parks the calling goroutine (or sleeps the plain thread) until `when`
// (os::nanotime()); sleep.cpp.
void sleep_until_ns(std::int64_t when);

}  // namespace weft::detail
