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

// A function and its moved-in arguments, invoked once.
template <class F, class... Args>
struct closure {
  F fn;
  std::tuple<Args...> args;

  template <class FF, class... AA>
  explicit closure(FF&& f, AA&&... a) : fn(std::forward<FF>(f)), args(std::forward<AA>(a)...) {}

  static void invoke(void* self) {
    auto* c = static_cast<closure*>(self);
    std::apply([c](Args&... a) { std::invoke(std::move(c->fn), std::move(a)...); }, c->args);
  }
  static void destroy(void* self) noexcept { static_cast<closure*>(self)->~closure(); }
};

}  // namespace weft::detail
