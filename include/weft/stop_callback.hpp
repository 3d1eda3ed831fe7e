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
//
// libstdc++ still touches its own record of the callback after the callback
// returns, and its destructor still asks "am I the requesting thread?". So
// that the answer stays true to goroutines, the goroutine that runs the
// callback is wired to its thread (lock_os_thread) for the callback's
// duration: a request_stop that parks inside callbacks never changes thread,
// and no other goroutine runs on the requesting thread until the request is
// over. (Goroutines sharing one thread_locker share one thread id: a
// callback that parks and a destructor in the same locker are not told
// apart.)
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
// One invocation of the callback, on the invoker's stack.
struct stop_callback_invocation {
  bool retired_inside = false;  // its own destructor ran inside the callback
  bool pinned = false;  // begin wired the goroutine to its thread
};
// The invocation begins: false if the destructor came first (then the
// callback must not run). Otherwise the callback runs and stop_callback_end
// follows, which touches the state only if the destructor did not run
// inside the callback.
bool stop_callback_begin(stop_callback_state* s, stop_callback_invocation* inv) noexcept;
void stop_callback_end(stop_callback_state* s, const stop_callback_invocation& inv) noexcept;
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
      // Read before the callback: a callback that destroys its own
      // stop_callback frees this invoker too.
      detail::stop_callback_state* state = &self->state_;
      detail::stop_callback_invocation inv;
      if (!detail::stop_callback_begin(state, &inv)) return;
      std::forward<Callback>(self->cb_)();
      detail::stop_callback_end(state, inv);
    }
  };

  detail::stop_callback_state state_;
  Callback cb_;
  std::stop_callback<invoker> std_;  // declared last: destroyed first, after retire
};

template <class Callback>
stop_callback(std::stop_token, Callback) -> stop_callback<Callback>;

}  // namespace weft
