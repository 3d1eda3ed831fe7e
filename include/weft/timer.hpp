// weft/timer.hpp: Go's time.After, time.Timer and time.Ticker, with Go
// 1.23's channel semantics.
//
// A timer's channel receives the steady_clock::time_point at which it fired,
// never earlier than its deadline. stop and reset are exact: once either has
// returned, no value from an earlier arming is ever received, and each arming
// ends in exactly one of two ways: its value is received, or the stop/reset
// that ends it returns true. (So a timer that fired but whose value nobody
// received yet is still "pending": stop drops the value and returns true, as
// in Go 1.23.) The design is in src/time/chan_timer.cpp.
//
// Timers and tickers need weft::run to be active (weft::misuse_error
// otherwise) and may be used from goroutines and plain threads. One object's
// stop, reset and channel may be called concurrently, but not concurrently
// with its destruction or a move.
//
// The channel is an ordinary chan: sending on it or closing it is misuse
// that the timer cannot prevent; it then drops its values.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <chrono>
#include <cstdint>
#include <utility>

#include <weft/chan.hpp>
#include <weft/detail/saturated.hpp>

namespace weft {

namespace detail {
struct chan_timer;
using timer_clock = std::chrono::steady_clock;
// Deadlines in the runtime's clock (steady_clock's nanoseconds), saturating.
std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept;
std::int64_t deadline_at(timer_clock::time_point t) noexcept;
// Throw misuse_error outside weft::run; chan_ticker_make std::invalid_argument
// for a period <= 0.
chan_timer* chan_timer_make(std::int64_t when);
chan_timer* chan_ticker_make(std::chrono::nanoseconds period);
chan<timer_clock::time_point> chan_timer_after(std::int64_t when);
chan<timer_clock::time_point> chan_timer_channel(chan_timer*);
bool chan_timer_stop(chan_timer*);
bool chan_timer_reset(chan_timer*, std::int64_t when);
void chan_ticker_reset(chan_timer*, std::chrono::nanoseconds period);
void chan_timer_release(chan_timer*) noexcept;  // stops it; frees it once the heap is done with it
}  // namespace detail

// A channel that receives the time, once, when d has passed (d <= 0: at
// once). The timer behind it lives until it fires, even if every copy of the
// channel is dropped; it cannot be stopped: use weft::timer for that.
template <class Rep, class Period>
chan<std::chrono::steady_clock::time_point> after(std::chrono::duration<Rep, Period> d) {
  return detail::chan_timer_after(detail::deadline_after(detail::saturated_ns(d)));
}

// A one-shot timer (Go's time.Timer). Movable, not copyable; the destructor
// stops it. A moved-from timer has a nil channel, and stop returns false.
class timer {
 public:
  using clock = std::chrono::steady_clock;

  // Fires once, d from now (d <= 0: at once).
  template <class Rep, class Period>
  explicit timer(std::chrono::duration<Rep, Period> d)
      : t_(detail::chan_timer_make(detail::deadline_after(detail::saturated_ns(d)))) {}
  // Fires once, at deadline (a past one: at once).
  explicit timer(clock::time_point deadline) : t_(detail::chan_timer_make(detail::deadline_at(deadline))) {}
  timer(timer&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  timer& operator=(timer&& o) noexcept {
    if (this != &o) {
      if (t_) detail::chan_timer_release(t_);
      t_ = std::exchange(o.t_, nullptr);
    }
    return *this;
  }
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;
  ~timer() {
    if (t_) detail::chan_timer_release(t_);
  }

  // Receives the time of the fire; copies share it. Holds at most one value.
  chan<clock::time_point> channel() const { return t_ ? detail::chan_timer_channel(t_) : nullptr; }
  // Disarms the timer. True if it was pending: armed, or fired with its value
  // not yet received (that value is dropped). Afterwards nothing from before
  // the stop is received.
  bool stop() { return t_ ? detail::chan_timer_stop(t_) : false; }
  // Stops the timer (returning what stop would) and arms it to fire d from
  // now. Misuse on a moved-from timer.
  template <class Rep, class Period>
  bool reset(std::chrono::duration<Rep, Period> d) {
    return detail::chan_timer_reset(t_, detail::deadline_after(detail::saturated_ns(d)));
  }
  bool reset(clock::time_point deadline) { return detail::chan_timer_reset(t_, detail::deadline_at(deadline)); }

 private:
  detail::chan_timer* t_;
};

// Ticks every period (Go's time.Ticker), on the multiples of period after
// its start: a receiver that falls behind misses ticks instead of getting a
// backlog or a burst (the channel holds at most one). A period <= 0 is
// misuse (std::invalid_argument). Movable, not copyable; the destructor
// stops it.
class ticker {
 public:
  using clock = std::chrono::steady_clock;

  template <class Rep, class Period>
  explicit ticker(std::chrono::duration<Rep, Period> period)
      : t_(detail::chan_ticker_make(detail::saturated_ns(period))) {}
  ticker(ticker&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  ticker& operator=(ticker&& o) noexcept {
    if (this != &o) {
      if (t_) detail::chan_timer_release(t_);
      t_ = std::exchange(o.t_, nullptr);
    }
    return *this;
  }
  ticker(const ticker&) = delete;
  ticker& operator=(const ticker&) = delete;
  ~ticker() {
    if (t_) detail::chan_timer_release(t_);
  }

  // Receives the time of each tick; copies share it.
  chan<clock::time_point> channel() const { return t_ ? detail::chan_timer_channel(t_) : nullptr; }
  // No tick is sent after stop, and a tick not yet received is dropped.
  void stop() {
    if (t_) detail::chan_timer_stop(t_);
  }
  // Stops the ticker and restarts it with a new period: the next tick comes
  // period from now. Misuse on a moved-from ticker.
  template <class Rep, class Period>
  void reset(std::chrono::duration<Rep, Period> period) {
    detail::chan_ticker_reset(t_, detail::saturated_ns(period));
  }

 private:
  detail::chan_timer* t_;
};

}  // namespace weft
