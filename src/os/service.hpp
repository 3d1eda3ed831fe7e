// src/os/service.hpp: where weft::os's resources come from.
//
// weft::os (files, environment, host name) is one interface with two
// implementations: this process's own (the default, local_os.cpp) and a
// runtime server's (src/remote/remote_os.cpp), which the stub installs when
// a program runs with WEFT_OS=server and the server offers "os". The public
// calls go through current_os() and know nothing of which; no `if
// (remote)` elsewhere.
//
// Errors are std::system_error with the errno of the failed call wherever it
// ran, and a what() that names the operation and the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace weft::detail {

// One open file. Goroutines may share it (weft/os.hpp says how calls
// interleave); close() may race with calls, which then fail with EBADF.
class file_backend {
 public:
  virtual ~file_backend() = default;
  virtual std::size_t read(std::span<std::byte> buf) = 0;
  virtual void write(std::span<const std::byte> buf) = 0;
  virtual std::size_t read_at(std::span<std::byte> buf, std::int64_t offset) = 0;
  virtual void write_at(std::span<const std::byte> buf, std::int64_t offset) = 0;
  virtual std::int64_t size() = 0;
  virtual void sync() = 0;
  virtual void close() = 0;
  virtual std::string name() const = 0;
  // Closes and frees this backend; may leave it allocated if a call is
  // still inside that a close cannot wait for (never frees under a call).
  virtual void destroy() noexcept = 0;
};

class os_service {
 public:
  virtual ~os_service() = default;
  // Throws std::system_error("weft::os::open PATH", errno).
  virtual file_backend* open(const std::string& path, int flags, unsigned perm) = 0;
  virtual std::optional<std::string> getenv(const std::string& name) = 0;
  virtual std::string hostname() = 0;
};

// The service in use: the installed one, else this process's own.
os_service& current_os() noexcept;
// Installs s (null: back to this process's own). The caller keeps s alive
// until it installs something else; files opened through s keep working
// only while s lives.
void install_os(os_service* s) noexcept;

// The errors every backend throws.
[[noreturn]] void os_fail(const char* op, std::string_view path, int err);

}  // namespace weft::detail
