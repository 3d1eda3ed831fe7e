// src/platform/file.hpp: the file system calls weft::os::file makes, behind
// one seam. As in socket.hpp, each returns its result or -errno and leaves
// errno alone. All of them may block in the kernel: callers wrap them in
// weft::blocking. The reads and writes are fault points (faults.hpp).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace weft::detail::os {

int file_open(const char* path, int flags, unsigned mode) noexcept;  // adds O_CLOEXEC
long file_read(int fd, void* buf, std::size_t len) noexcept;
long file_write(int fd, const void* buf, std::size_t len) noexcept;
long file_pread(int fd, void* buf, std::size_t len, std::int64_t offset) noexcept;
long file_pwrite(int fd, const void* buf, std::size_t len, std::int64_t offset) noexcept;
// The size in bytes (fstat's st_size), or -errno.
std::int64_t file_size(int fd) noexcept;
// 1 if fd is a regular file, 0 if not, or -errno.
int file_is_regular(int fd) noexcept;
int file_sync(int fd) noexcept;
// close(2); EINTR counts as closed (Linux frees the descriptor regardless).
int file_close(int fd) noexcept;

}  // namespace weft::detail::os
