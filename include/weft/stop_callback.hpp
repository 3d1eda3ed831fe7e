// weft/stop_callback.hpp: std::stop_callback made safe for goroutines.
//
// std::stop_callback's destructor must wait for its callback when the
// callback is running elsewhere, and must not wait when it runs inside the
// callback itself. libstdc++ tells the two apart by thread id, and
// goroutines share threads: a goroutine that destroys its stop_callback
// while another goroutine, parked inside that callback (in conn.close(),
// which waits for the reader to leave; in a channel send; in mutex.lock),
// last ran on the same thread is taken for "inside the callback", and the
// callback is freed under the parked goroutine.
//
// weft::stop_callback has std::stop_callback's constructors and meaning,
// but tells "inside my own callback" apart by goroutine, and its destructor
// parks the goroutine (a plain thread: sleeps) until a callback running
// elsewhere has returned. Use it for any callback that may park. A callback
// that never parks (it sets a flag, closes a weft::chan, notifies a
// condition_variable) is safe with std::stop_callback too.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <atomic>
#include <concepts>
#include <cstdint>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
// What one weft::stop_callback shares with its invocation
// (src/sync/stop_callback.cpp).
struct stop_callback_state {
  std::atomic<std::uint32_t> lock{0};
  std::uint8_t phase = 0;  // idle, running, done, retired
  const void* runner = nullptr;  // who runs the callback (a G, or a thread)
  bool* runner_sees_retired = nullptr;  // the invocation's flag: do not touch the state again
  void* waiter = nullptr;  // the destructor, waiting for the callback
};
// The invocation begins: false if the destructor came first (then the
// callback must not run). Otherwise the callback runs and, unless
// *retired_inside became true meanwhile (its own destructor ran inside it),
// stop_callback_end follows.
bool stop_callback_begin(stop_callback_state* s, bool* retired_inside) noexcept;
void stop_callback_end(stop_callback_state* s) noexcept;
// The destructor: waits for a callback that runs in another goroutine or
// thread; afterwards the callback never starts.
void stop_callback_retire(stop_callback_state* s) noexcept;
}  // namespace detail

template <class Callback>
class stop_callback {
 public:
  using callback_type = Callback;

  // Registers cb with st's stop state; if stop was already requested, runs
  // it at once, in the constructor.
  template <class C>
  requires std::constructible_from<Callback, C>
  explicit stop_callback(const std::stop_token& st, C&& cb) : cb_(std::forward<C>(cb)), std_(st, invoker{this}) {}
  template <class C>
  requires std::constructible_from<Callback, C>
  explicit stop_callback(std::stop_token&& st, C&& cb) : cb_(std::forward<C>(cb)), std_(std::move(st), invoker{this}) {}

  // Unregisters the callback. If it is running in another goroutine or
  // thread, parks until it has returned; inside the callback itself, does
  // not wait.
  ~stop_callback() { detail::stop_callback_retire(&state_); }

  stop_callback(const stop_callback&) = delete;
  stop_callback& operator=(const stop_callback&) = delete;

 private:
  struct invoker {
    stop_callback* self;
    void operator()() {
      bool retired_inside = false;
      if (!detail::stop_callback_begin(&self->state_, &retired_inside)) return;
      std::forward<Callback>(self->cb_)();
      if (!retired_inside) detail::stop_callback_end(&self->state_);
    }
  };

  detail::stop_callback_state state_;
  Callback cb_;
  std::stop_callback<invoker> std_;  // declared last: destroyed first, after retire
};

template <class Callback>
stop_callback(std::stop_token, Callback) -> stop_callback<Callback>;

}  // namespace weft
