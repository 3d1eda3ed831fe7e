// weft/errors.hpp: the exceptions weft's public API throws.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <stdexcept>
#include <string>
#include <utility>

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

// Why a remote operation failed when the failure is the system's, not the
// program's (DESIGN.md, "Errors").
enum class remote_errc {
  unreachable,  // no server or peer at that address (refused, no answer to the handshake)
  timeout,  // no answer in time
  refused,  // the peer answered no: version, capability, a name opened with another type
  unauthorized,  // authentication failed
  lost,  // the connection broke, or the peer was declared dead
  protocol,  // the peer sent bytes that do not follow the protocol (or cannot be decoded)
  unknown_outcome,  // the request was sent and the connection broke: it may or may not have run
};

const char* to_string(remote_errc) noexcept;

// A remote operation failed because the system did (DESIGN.md): kind()
// tells which way.
class remote_error : public std::runtime_error {
 public:
  remote_error(remote_errc kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  remote_errc kind() const noexcept { return kind_; }

 private:
  remote_errc kind_;
};

// The remote code threw (DESIGN.md, "Errors"): a spawned function or a
// cross-referenced method ended with an exception in another worker.
// type_name() is the demangled, qualified name of the thrown type
// ("std::out_of_range"); what() is its message verbatim (empty for a
// thrown value that is not a std::exception). Kept apart from
// remote_error: the system worked, the application failed.
class remote_exception : public std::runtime_error {
 public:
  remote_exception(std::string type_name, const std::string& what)
      : std::runtime_error(what), type_name_(std::move(type_name)) {}
  const std::string& type_name() const noexcept { return type_name_; }

 private:
  std::string type_name_;
};

}  // namespace weft
