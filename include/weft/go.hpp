// weft/go.hpp: starting goroutines and what a goroutine can do to itself.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

#include <weft/detail/closure.hpp>
#include <weft/detail/saturated.hpp>

namespace weft {

// A goroutine's number: main is 1, later goroutines count up; never reused
// within one weft::run (a later weft::run starts again from 1).
using goroutine_id = std::uint64_t;

struct go_options {
  // Bytes of stack; 0 means the default (64 KiB). Rounded up to a power of two;
  // below 16 KiB is misuse (std::invalid_argument). Stacks cannot grow: a
  // goroutine that overflows ends the program with a message naming it.
  std::size_t stack_size = 0;
  // Shown in goroutine dumps and panics; empty means none.
  std::string name = {};
};

namespace detail {
struct g;
// Allocates a goroutine with room for a closure of `size` bytes.
// Throws misuse_error outside weft::run, std::invalid_argument on a bad option.
g* g_alloc(std::size_t size, std::size_t align, const go_options* opts, void** closure_storage);
void g_discard(g*) noexcept;  // frees a g whose closure could not be built
// What a goroutine does with its closure: one table per closure type C.
// plain_bytes: a copy of C's bytes is a C and the original needs no
// destructor, so the scheduler may move a closure that has not run with
// memcpy (a queued goroutine kept compact: src/runtime/freshq.hpp).
struct closure_ops {
  void (*invoke)(void*);
  void (*destroy)(void*) noexcept;
  std::size_t size;
  bool plain_bytes;
};
template <class C>
inline constexpr closure_ops closure_ops_of{
    &C::invoke, &C::destroy, sizeof(C),
    std::is_trivially_copy_constructible_v<C>&& std::is_trivially_destructible_v<C>};
void g_start(g*, const closure_ops* ops, void* creation_pc);

// Whether weft::go can run f(args...): each static_assert names one way it
// cannot, and at most one of them fires. The caller instantiates nothing
// more when this is false, so that the message is the only error (the
// closure's std::apply would add pages of std::tuple errors below it).
template <class F, class... Args>
consteval bool go_fits() {
  constexpr bool copies = closure_copies<F, Args...>;
  static_assert(copies,
                "weft::go: f or an argument cannot be copied or moved into the goroutine "
                "(pass a move-only value with std::move)");
  constexpr bool calls = !copies || closure_calls<F, Args...>;
  constexpr bool by_ref = copies && !calls && closure_calls_lvalues<F, Args...>;
  static_assert(calls || by_ref,
                "weft::go: f cannot be called with these arguments: check their number and types "
                "(the goroutine calls f with a copy of each one)");
  static_assert(!by_ref,
                "weft::go: f takes a parameter by non-const reference, but the goroutine gets a copy "
                "of each argument: pass std::ref(x) to share x (x must outlive the goroutine), "
                "or take the parameter by value");
  return copies && calls;
}

template <class F, class... Args>
void spawn(const go_options* opts, void* pc, F&& f, Args&&... args) {
  if constexpr (go_fits<F, Args...>()) {
    using C = closure<std::decay_t<F>, std::decay_t<Args>...>;
    void* storage = nullptr;
    g* gp = g_alloc(sizeof(C), alignof(C), opts, &storage);
    try {
      ::new (storage) C(std::forward<F>(f), std::forward<Args>(args)...);
    } catch (...) {
      g_discard(gp);
      throw;
    }
    g_start(gp, &closure_ops_of<C>, pc);
  }
}
}  // namespace detail

// Starts f(args...) as a new goroutine; f and args are moved (or copied) in,
// never referenced. The new goroutine is queued; the caller goes on.
// Throws misuse_error when called outside weft::run.
template <class F, class... Args>
requires(!std::is_same_v<std::remove_cvref_t<F>, go_options>) [[gnu::noinline]] void go(F&& f, Args&&... args) {
  detail::spawn(nullptr, __builtin_return_address(0), std::forward<F>(f), std::forward<Args>(args)...);
}

// As go(f, args...) with a stack size and a name.
template <class F, class... Args>
[[gnu::noinline]] void go(const go_options& opts, F&& f, Args&&... args) {
  detail::spawn(&opts, __builtin_return_address(0), std::forward<F>(f), std::forward<Args>(args)...);
}

namespace this_goroutine {

// Lets other goroutines run; the caller stays runnable.
void yield();
// The calling goroutine's id (REQUIRES: inside weft::run).
goroutine_id get_id();
// Parks the caller until at least d has passed (d <= 0: just yields). A
// duration too long for nanoseconds (hours::max()) means forever.
void sleep_for(std::chrono::nanoseconds d);
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  sleep_for(detail::saturated_ns(d));
}
// Parks the caller until t.
void sleep_until(std::chrono::steady_clock::time_point t);
template <class Clock, class Duration>
void sleep_until(std::chrono::time_point<Clock, Duration> t) {
  sleep_for(detail::saturated_until(t));
}
// As sleep_for and sleep_until, but cut short when stop is requested on
// token: true if the whole time passed, false if stop came first (at once
// when it was already requested). Works on plain threads too.
bool sleep_for(std::chrono::nanoseconds d, const std::stop_token& token);
template <class Rep, class Period>
bool sleep_for(std::chrono::duration<Rep, Period> d, const std::stop_token& token) {
  return sleep_for(detail::saturated_ns(d), token);
}
bool sleep_until(std::chrono::steady_clock::time_point t, const std::stop_token& token);

}  // namespace this_goroutine
}  // namespace weft
