// src/platform/checked.hpp: how the platform seam reports failure.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>

#include "platform/faults.hpp"

namespace weft::detail::os {

// The call's result, or -errno when it fails; errno is restored either way.
template <class F>
auto checked(F call) noexcept {
  int saved = errno;
  auto r = call();
  if (r < 0) r = -static_cast<decltype(r)>(errno);
  errno = saved;
  return r;
}

// A read or write at fault point `point`: the call with the length it is to
// use (len, or less for a short count), or -errno for an injected failure
// without making it.
template <class F>
long checked_io(fault_point point, std::size_t len, F call) noexcept {
  if (fault f; take_fault(point, &f)) {
    if (f.err != 0) return -static_cast<long>(f.err);
    len = std::min(len, f.max_bytes);
  }
  return checked([&] { return static_cast<long>(call(len)); });
}

}  // namespace weft::detail::os
