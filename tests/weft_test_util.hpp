// tests/weft_test_util.hpp: helpers shared by weft's tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include <weft/weft.hpp>

namespace weft_test {

// The procs values every concurrent scenario runs with: on a 2-core machine,
// 4 and 8 oversubscribe on purpose.
inline const std::vector<int>& all_procs() {
  static const std::vector<int> v{1, 2, 4, 8};
  return v;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool asan = true;  // and LeakSanitizer with it
#elif defined(__has_feature)
constexpr bool asan = __has_feature(address_sanitizer);
#else
constexpr bool asan = false;
#endif

#if defined(__SANITIZE_THREAD__)
constexpr bool tsan = true;
#elif defined(__has_feature)
constexpr bool tsan = __has_feature(thread_sanitizer);
#else
constexpr bool tsan = false;
#endif

constexpr bool sanitized = asan || tsan;

// Scales a loop count down under sanitizers (10x slower).
constexpr int scaled(int n) { return sanitized ? (n / 10 > 0 ? n / 10 : 1) : n; }
// The gentler cut the channel, sync and stress suites use: a quarter.
constexpr int quartered(int n) { return sanitized ? (n / 4 > 0 ? n / 4 : 1) : n; }

inline weft::options procs_opt(int procs) {
  weft::options o;
  o.procs = procs;
  return o;
}

inline weft::go_options named(const char* name) {
  weft::go_options o;
  o.name = name;
  return o;
}

// How many goroutines called `name` are parked (neither running nor
// runnable), read from weft::dump_goroutines: lines look like
//   goroutine 7 "name" [chan receive]:
inline int count_parked(const std::string& name) {
  std::ostringstream out;
  weft::dump_goroutines(out);
  std::istringstream in(out.str());
  const std::string tag = "\"" + name + "\" [";
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("goroutine ", 0) != 0) continue;
    std::size_t at = line.find(tag);
    if (at == std::string::npos) continue;
    std::string state = line.substr(at + tag.size());
    if (state.rfind("running", 0) == 0 || state.rfind("runnable", 0) == 0) continue;
    ++n;
  }
  return n;
}

// Waits (as a goroutine) until n goroutines called `name` are parked.
inline bool wait_parked(const std::string& name, int n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count_parked(name) < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Waits (as a goroutine) until num_goroutines() is n, or 10 s. A test whose
// goroutines end just after their last send calls wait_goroutines(1) before
// main returns: a goroutine still finishing then would be abandoned with
// the run, and what it holds (a captured channel) reported as a leak by LSan.
inline bool wait_goroutines(std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (weft::num_goroutines() != n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Polls cond every `poll` until it holds or limit passes; whether it held.
// For what another goroutine or process does, of which nothing tells the
// test. REQUIRES: inside weft::run (it sleeps the goroutine).
template <class F>
bool eventually(F cond, std::chrono::milliseconds limit,
                std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    weft::this_goroutine::sleep_for(poll);
  }
  return cond();
}

// Names parameterized tests by procs: .../procs4.
inline std::string procs_name(const ::testing::TestParamInfo<int>& info) {
  return "procs" + std::to_string(info.param);
}

// Turns a hang into a failure: if not destroyed within `limit`, prints what
// hung and ends the test program (status 3). For regressions whose bug was
// a hang (ctest's timeout would say less, and later).
class watchdog {
 public:
  watchdog(std::chrono::milliseconds limit, std::string what) : what_(std::move(what)) {
    thread_ = std::thread([this, limit] {
      std::unique_lock lk(mu_);
      if (!cv_.wait_for(lk, limit, [this] { return done_; })) {
        std::fprintf(stderr, "watchdog: %s (still running after %lld ms)\n", what_.c_str(),
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(3);
      }
    });
  }
  ~watchdog() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace weft_test
