// tests/weft_test_util.hpp: helpers shared by weft's tests.
#pragma once

#include <vector>

namespace weft_test {

// The procs values every concurrent scenario runs with: on a 2-core machine,
// 4 and 8 oversubscribe on purpose.
inline const std::vector<int>& all_procs() {
  static const std::vector<int> v{1, 2, 4, 8};
  return v;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// Scales a loop count down under sanitizers (10x slower).
constexpr int scaled(int n) { return sanitized ? (n / 10 > 0 ? n / 10 : 1) : n; }

}  // namespace weft_test
