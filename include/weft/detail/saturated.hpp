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

}  // namespace weft::detail
