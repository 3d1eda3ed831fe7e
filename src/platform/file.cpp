// src/platform/file.cpp: the file system calls, returning -errno.
#include "platform/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "platform/checked.hpp"

namespace weft::detail::os {
int file_open(const char* path, int flags, unsigned mode) noexcept {
  return checked([&] { return ::open(path, flags | O_CLOEXEC, static_cast<mode_t>(mode)); });
}

long file_read(int fd, void* buf, std::size_t len) noexcept {
  return checked_io(fault_point::read, len, [&](std::size_t n) { return ::read(fd, buf, n); });
}

long file_write(int fd, const void* buf, std::size_t len) noexcept {
  return checked_io(fault_point::write, len, [&](std::size_t n) { return ::write(fd, buf, n); });
}

long file_pread(int fd, void* buf, std::size_t len, std::int64_t offset) noexcept {
  return checked_io(fault_point::read, len,
                    [&](std::size_t n) { return ::pread(fd, buf, n, static_cast<off_t>(offset)); });
}

long file_pwrite(int fd, const void* buf, std::size_t len, std::int64_t offset) noexcept {
  return checked_io(fault_point::write, len,
                    [&](std::size_t n) { return ::pwrite(fd, buf, n, static_cast<off_t>(offset)); });
}

std::int64_t file_size(int fd) noexcept {
  struct stat st {};
  int r = checked([&] { return ::fstat(fd, &st); });
  return r < 0 ? r : static_cast<std::int64_t>(st.st_size);
}

int file_is_regular(int fd) noexcept {
  struct stat st {};
  int r = checked([&] { return ::fstat(fd, &st); });
  return r < 0 ? r : S_ISREG(st.st_mode) ? 1 : 0;
}

int file_sync(int fd) noexcept {
  return checked([&] { return ::fsync(fd); });
}

int file_close(int fd) noexcept {
  int r = checked([&] { return ::close(fd); });
  return r == -EINTR ? 0 : r;
}

}  // namespace weft::detail::os
