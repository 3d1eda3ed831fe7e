// src/platform/checked.hpp: how the platform seam reports failure.
#pragma once

#include <cerrno>

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

}  // namespace weft::detail::os
