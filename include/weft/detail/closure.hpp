// weft/detail/closure.hpp: a goroutine's body, type-erased without a heap
// allocation when it fits the goroutine's inline buffer. Internal.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

namespace weft::detail {

// What a goroutine's closure needs of f and args (the checks behind the
// static_asserts of weft::go and scope::go, which name the failure):
// f and each argument decay-copied (or moved) into the closure ...
template <class F, class... Args>
inline constexpr bool closure_copies = std::is_constructible_v<std::decay_t<F>, F> &&
                                       (std::is_constructible_v<std::decay_t<Args>, Args> && ...);
// ... then f called once, with those copies as rvalues, as invoke does.
template <class F, class... Args>
inline constexpr bool closure_calls = std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>;
// Callable with the copies as lvalues but not as rvalues: f takes a
// parameter by non-const reference (the caller wants std::ref).
template <class F, class... Args>
inline constexpr bool closure_calls_lvalues = std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>&...>;

// A function and its moved-in arguments, invoked once.
template <class F, class... Args>
struct closure {
  F fn;
  [[no_unique_address]] std::tuple<Args...>
      args;  // no byte for none: a lambda alone fits a record (runtime/freshq.hpp)

  template <class FF, class... AA>
  explicit closure(FF&& f, AA&&... a) : fn(std::forward<FF>(f)), args(std::forward<AA>(a)...) {}

  static void invoke(void* self) {
    auto* c = static_cast<closure*>(self);
    std::apply([c](Args&... a) { std::invoke(std::move(c->fn), std::move(a)...); }, c->args);
  }
  static void destroy(void* self) noexcept { static_cast<closure*>(self)->~closure(); }
};

}  // namespace weft::detail
