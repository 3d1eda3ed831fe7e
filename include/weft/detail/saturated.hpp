// weft/detail/saturated.hpp: durations converted to nanoseconds without
// overflow (a "wait forever" of hours::max() must not wrap around).
#pragma once

#include <chrono>

namespace weft::detail {

template <class Rep, class Period>
std::chrono::nanoseconds saturated_ns(const std::chrono::duration<Rep, Period>& d) {
  using ld_ns = std::chrono::duration<long double, std::nano>;
  if (ld_ns(d) >= ld_ns(std::chrono::nanoseconds::max())) return std::chrono::nanoseconds::max();
  if (ld_ns(d) <= ld_ns(std::chrono::nanoseconds::min())) return std::chrono::nanoseconds::min();
  return std::chrono::ceil<std::chrono::nanoseconds>(d);
}

// The time from now until t on t's clock, in saturated nanoseconds (t may be
// a time_point of hours whose difference with now() overflows nanoseconds).
template <class Clock, class Duration>
std::chrono::nanoseconds saturated_until(const std::chrono::time_point<Clock, Duration>& t) {
  using ld_ns = std::chrono::duration<long double, std::nano>;
  ld_ns left = ld_ns(t.time_since_epoch()) - ld_ns(Clock::now().time_since_epoch());
  return saturated_ns(left);
}

}  // namespace weft::detail
