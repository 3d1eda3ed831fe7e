// weft/future.hpp: the outcome of a call another party completes (an xref
// call, weft/xref.hpp).
//
//   weft::future<int> f = x.call<&counter::add>(5);
//   int n = f.get();                            // parks until the result
//   if (f.wait_for(100ms)) ...                  // or with a deadline
//   int m = f.get_for(100ms);                   // remote_error{timeout} if late
//   weft::select(weft::on_ready(f, [&] { use(f.get()); }),
//                weft::on_recv(quit, [] {}));   // or beside channels
//
// A future is settled once: a value, the remote code's exception
// (get() throws weft::remote_exception), or the system's failure
// (remote_error). Copies share one outcome; get() may be called any number
// of times, from any goroutines. A deadline that passes does not cancel
// the call: it goes on, and a later get() returns its outcome.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <weft/chan.hpp>
#include <weft/codec.hpp>
#include <weft/detail/saturated.hpp>
#include <weft/errors.hpp>
#include <weft/mutex.hpp>
#include <weft/select.hpp>

namespace weft {

namespace detail {

// The untyped outcome. settle_* run on any goroutine (a connection's
// reader) and never park: the first one wins and closes `done`, which wakes
// every waiter at once and makes on_ready's case ready (a receive on a
// closed channel is always ready, to any number of selects). The outcome's
// fields are written before `done` closes and never after, so a goroutine
// that has seen `done` closed reads them without a lock.
class future_state {
 public:
  future_state();
  virtual ~future_state();
  future_state(const future_state&) = delete;
  future_state& operator=(const future_state&) = delete;

  bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }
  // False if the state was settled already.
  bool settle_value(std::string bytes) noexcept;
  bool settle_threw(std::string type_name, std::string what) noexcept;
  bool settle_failed(remote_errc kind, std::string what) noexcept;

  // Parks until settled; returns the encoded value, or throws
  // remote_exception / remote_error.
  const std::string& wait_value();
  // Parks until settled or t; whether it is settled.
  bool wait_until(std::chrono::steady_clock::time_point t);
  chan_core* done_core() const noexcept { return done_.core(); }

 private:
  bool claim() noexcept;
  void publish() noexcept;
  std::atomic<bool> claimed_{false};
  std::atomic<bool> ready_{false};
  weft::chan<bool> done_;
  enum class outcome : std::uint8_t { value, threw, failed } outcome_ = outcome::value;
  std::string value_;  // value: the bytes; threw: the type's name
  std::string what_;
  remote_errc errc_ = remote_errc::lost;
};

// The typed outcome: decodes the value once (decoding an xref registers
// it with its owner, which must happen once per received reference).
template <class R>
class future_box final : public future_state {
 public:
  R get() {
    const std::string& bytes = wait_value();
    if constexpr (std::is_void_v<R>) {
      (void)bytes;
    } else {
      std::lock_guard lk(mu_);
      if (!cache_) cache_.emplace(weft::decode<R>(bytes));
      return *cache_;
    }
  }

 private:
  using cached = std::conditional_t<std::is_void_v<R>, char, R>;
  weft::mutex mu_;
  std::optional<cached> cache_;
};

}  // namespace detail

template <class R>
class future {
 public:
  // No outcome: get() is misuse; in a select, never ready.
  future() = default;
  explicit future(std::shared_ptr<detail::future_box<R>> s) : s_(std::move(s)) {}

  bool valid() const noexcept { return s_ != nullptr; }
  // Settled (get() will not park).
  bool ready() const noexcept { return s_ && s_->ready(); }
  // Parks until settled; returns the value, or throws remote_exception (the
  // remote code threw) or remote_error (the system failed).
  R get() const { return state().get(); }
  // Parks until settled or the deadline; whether it is settled.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& d) const {
    auto left = detail::saturated_ns(d);
    auto now = std::chrono::steady_clock::now();
    auto room = std::chrono::steady_clock::time_point::max() - now;
    return wait_until(left >= room ? std::chrono::steady_clock::time_point::max() : now + left);
  }
  bool wait_until(std::chrono::steady_clock::time_point t) const { return state().wait_until(t); }
  // get() within a deadline: remote_error{timeout} if not settled by then
  // (the call goes on; get() may be called again).
  template <class Rep, class Period>
  R get_for(const std::chrono::duration<Rep, Period>& d) const {
    if (!wait_for(d)) throw remote_error(remote_errc::timeout, "weft::future: no outcome within the deadline");
    return get();
  }
  R get_until(std::chrono::steady_clock::time_point t) const {
    if (!wait_until(t)) throw remote_error(remote_errc::timeout, "weft::future: no outcome by the deadline");
    return get();
  }

  detail::chan_core* done_core() const noexcept { return s_ ? s_->done_core() : nullptr; }

 private:
  detail::future_box<R>& state() const {
    if (!s_) throw misuse_error("weft::future: get or wait on a future that has no outcome (default-constructed)");
    return *s_;
  }
  std::shared_ptr<detail::future_box<R>> s_;
};

namespace detail {

// on_ready's callback: holds the future (so its state, and the channel the
// case waits on, outlive the select) and calls fn with it or without.
template <class R, class F>
struct ready_action {
  future<R> f;
  F fn;
  void operator()() {
    if constexpr (std::is_invocable_v<F&, const future<R>&>)
      fn(f);
    else
      fn();
  }
};

}  // namespace detail

// A select case ready once f is settled; then fn() or fn(f) runs (f.get()
// does not park there). Many selects may wait on one future; each that
// chooses this case sees it settled. A future without an outcome is never
// ready (as a nil channel).
template <class R, class F>
requires std::is_invocable_v < F&, const future<R>
& > || std::is_invocable_v<F&> detail::recv_case<bool, detail::ready_action<R, std::decay_t<F>>> on_ready(
           const future<R>& f, F&& fn) {
  return {f.done_core(), detail::ready_action<R, std::decay_t<F>>{f, std::forward<F>(fn)}};
}

}  // namespace weft
