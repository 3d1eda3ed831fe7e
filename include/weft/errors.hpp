// weft/errors.hpp: the exceptions weft's public API throws.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <stdexcept>
#include <string>

namespace weft {

// Thrown by send on a closed channel ("send on closed channel", as in Go).
class closed_channel_error : public std::logic_error {
 public:
  closed_channel_error() : std::logic_error("send on closed channel") {}
};

// Thrown when a weft call is used outside weft::run or otherwise misused in a
// way the call can detect (negative wait_group, unlock of an unlocked mutex).
// Like any exception escaping a goroutine it then ends the program as a panic.
class misuse_error : public std::logic_error {
 public:
  explicit misuse_error(const std::string& what) : std::logic_error(what) {}
};

}  // namespace weft
