// src/platform/tsc.cpp: whether the TSC keeps time here (see tsc.hpp).
#include "platform/tsc.hpp"

#include <cstdio>
#include <cstring>

namespace weft::detail::os {

bool tsc_usable() noexcept {
#if defined(__x86_64__)
  static const bool usable = [] {
    std::FILE* f = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    if (f == nullptr) return false;
    char name[32] = {};
    bool tsc = std::fgets(name, sizeof name, f) != nullptr && std::strcmp(name, "tsc\n") == 0;
    std::fclose(f);
    return tsc;
  }();
  return usable;
#else
  return false;
#endif
}

}  // namespace weft::detail::os
