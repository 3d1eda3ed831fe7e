// weft/os.hpp: files for goroutines (Go's os.File), the environment and
// the host name.
//
// Regular files are always "ready" to epoll, so they cannot wait on the
// netpoller as sockets do: every system call of a file goes through
// weft::blocking, which frees the goroutine's processor for the others while
// the call is in the kernel. Failures throw std::system_error whose what()
// names the operation and the path ("weft::os::open /no/such: No such file
// or directory") and whose code() is the errno.
//
// A file is movable, not copyable, and closes on destruction. Goroutines may
// share one: read and write (which move the file offset) take turns;
// read_at and write_at (which do not) run side by side; close waits until no
// call is inside.
//
// Whose resources. By default this process's. A program attached to a
// runtime server that offers "os" and started with WEFT_OS=server uses the
// server's instead: files are opened on the server's host (relative paths
// from the server's working directory, with the server's permissions),
// getenv reads the server's environment and hostname names the server's
// host (docs/remote.md, "OS resources"). Errors keep their meaning: the
// errno of the call wherever it ran.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <fcntl.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace weft {

namespace detail {
class file_backend;
}

namespace os {

class file {
 public:
  // <fcntl.h> flags, as open(2) takes them.
  static constexpr int read_only = O_RDONLY;
  static constexpr int write_only = O_WRONLY;
  static constexpr int read_write = O_RDWR;

  // Opens path with flags (O_RDONLY, O_WRONLY or O_RDWR, or'ed with O_CREAT,
  // O_TRUNC, O_APPEND, O_EXCL...); perm is the mode of a file O_CREAT
  // creates (before the umask). Go's os.OpenFile; open(path) is os.Open.
  static file open(std::string_view path, int flags = O_RDONLY, unsigned perm = 0666);
  // Creates or truncates path, open for reading and writing (Go's os.Create).
  static file create(std::string_view path, unsigned perm = 0666);

  file() noexcept = default;  // not open: every call fails as on a closed file
  file(file&& other) noexcept;
  file& operator=(file&& other) noexcept;  // closes what this held
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file();  // close()

  // Reads at most buf.size() bytes at the file offset; 0 at end of file.
  std::size_t read(std::span<std::byte> buf);
  // Writes every byte of buf at the file offset, or throws.
  void write(std::span<const std::byte> buf);
  void write(std::string_view s);
  // As read and write at offset, leaving the file offset alone (pread,
  // pwrite). read_at returns fewer than buf.size() bytes only at end of file.
  std::size_t read_at(std::span<std::byte> buf, std::int64_t offset);
  void write_at(std::span<const std::byte> buf, std::int64_t offset);
  // The size in bytes now.
  std::int64_t size();
  // Flushes the file to its device (fsync).
  void sync();
  // Closes the file. Closing a closed file does nothing.
  void close();
  // The path it was opened with ("" if none).
  std::string name() const;

 private:
  explicit file(detail::file_backend* f) noexcept : f_(f) {}
  detail::file_backend* f_ = nullptr;
};

// The value of the environment variable name, or nothing if it is unset
// (Go's os.LookupEnv).
std::optional<std::string> getenv(std::string_view name);
// The host's name (Go's os.Hostname).
std::string hostname();

}  // namespace os
}  // namespace weft
