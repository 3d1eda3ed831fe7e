// src/time/sleep_stop.cpp: this_goroutine::sleep_for/sleep_until with a
// std::stop_token.
//
// A goroutine selects between a one-shot timer's channel and the stop token
// (chan/select.cpp), so a stop wakes it through the same claim protocol as
// any channel; the timer is stopped and freed either way. A plain thread
// waits on a std::condition_variable_any, which takes a stop token itself.
// A token that can never be stopped costs nothing: plain sleep.
#include <weft/go.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "platform/futex.hpp"
#include "runtime/runtime.hpp"
#include "runtime/timer.hpp"
#include "time/sleep.hpp"
#include <weft/chan.hpp>
#include <weft/detail/select_core.hpp>
#include <weft/timer.hpp>

namespace weft {

namespace detail {

namespace {

bool sleep_until_ns_or_stop(std::int64_t when, const std::stop_token& token) {
  if (token.stop_requested()) return false;
  if (!token.stop_possible()) {
    sleep_until_ns(when);
    return true;
  }
  if (this_g() == nullptr) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lk(mu);
    auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(when));
    return !cv.wait_until(lk, token, deadline, [] { return false; }) && !token.stop_requested();
  }
  if (when <= os::nanotime()) {
    yield_now();
    return true;
  }
  chan_timer* ct = chan_timer_make(when);
  struct release {
    chan_timer* ct;
    ~release() { chan_timer_release(ct); }
  } guard{ct};
  chan<std::chrono::steady_clock::time_point> ch = chan_timer_channel(ct);
  chan_slot<std::chrono::steady_clock::time_point> fired;
  select_arm arms[2];
  arms[0].dir = select_dir::recv;
  arms[0].chan = ch.core();
  arms[0].elem = fired.ptr();
  arms[1].dir = select_dir::stop;
  arms[1].token = &token;
  if (select_core(arms, 2, false) != 0) return false;
  if (arms[0].ok) fired.take();
  return true;
}

}  // namespace

}  // namespace detail

namespace this_goroutine {

bool sleep_for(std::chrono::nanoseconds d, const std::stop_token& token) {
  return detail::sleep_until_ns_or_stop(detail::deadline_after(d), token);
}

bool sleep_until(std::chrono::steady_clock::time_point t, const std::stop_token& token) {
  return detail::sleep_until_ns_or_stop(detail::deadline_at(t), token);
}

}  // namespace this_goroutine
}  // namespace weft
