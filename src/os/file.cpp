// src/os/file.cpp: weft::os::file.
//
// Regular files cannot use the netpoller (epoll refuses them: they are
// always ready, and a read may still wait for the disk), so each system
// call runs inside weft::blocking: the goroutine keeps its thread for the
// call while its processor goes to other goroutines. The descriptor is
// shared between goroutines as a socket's is (poll/fd_mutex.hpp): calls take
// a reference, close waits for the calls inside to leave before it closes
// the number, so no call lands on a reused descriptor. Calls that use the
// file offset (read, write) take turns under io_mu, so that a write's bytes
// stay together and reads see consecutive parts; read_at and write_at do
// not need it.
//
// Rejected: io_uring for file reads; it would need a ring per P and a
// completion path into the netpoller, for a gain benchmarks have not shown.
#include <weft/os.hpp>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include <weft/blocking.hpp>
#include <weft/mutex.hpp>

#include "poll/fd_mutex.hpp"
#include "platform/file.hpp"

namespace weft::detail {

struct osfile {
  int sysfd = -1;
  std::string path;
  fd_mutex refs;
  weft::mutex io_mu;  // read and write: the file offset
};

namespace {

[[noreturn]] void fail(const char* op, std::string_view path, int err) {
  throw std::system_error(err, std::generic_category(), std::string("weft::os::") + op + " " + std::string(path));
}

// One call inside f: a reference, and io_mu if the call moves the offset.
class file_op {
 public:
  file_op(osfile* f, const char* op, bool offset) : f_(f), op_(op) {
    if (!f || !f->refs.incref()) fail(op, f ? f->path : std::string(), EBADF);
    if (offset) {
      f->io_mu.lock();
      locked_ = true;
    }
  }
  ~file_op() {
    if (locked_) f_->io_mu.unlock();
    f_->refs.decref();
  }
  file_op(const file_op&) = delete;
  file_op& operator=(const file_op&) = delete;
  [[noreturn]] void fail_with(int err) const { fail(op_, f_->path, err); }

 private:
  osfile* f_;
  const char* op_;
  bool locked_ = false;
};

void close_file(osfile* f) {
  if (!f || !f->refs.begin_close()) return;
  struct finished {
    osfile* f;
    ~finished() { f->refs.close_finished(); }
  } done{f};
  f->refs.wait_drained();
  int fd = std::exchange(f->sysfd, -1);
  // close(2) of a regular file may flush (NFS): it blocks like any other call.
  weft::blocking([fd] { return os::file_close(fd); });
}

void destroy(osfile* f) noexcept {
  if (!f) return;
  try {
    close_file(f);
    f->refs.wait_closed();  // a close begun by another goroutine may still be inside
  } catch (...) {
    return;  // leaked rather than freed under a call still inside
  }
  delete f;
}

}  // namespace
}  // namespace weft::detail

namespace weft::os {

using detail::file_op;

file file::open(std::string_view path, int flags, unsigned perm) {
  std::string p(path);
  int fd = weft::blocking([&] { return detail::os::file_open(p.c_str(), flags, perm); });
  if (fd < 0) detail::fail("open", p, -fd);
  auto* f = new detail::osfile;
  f->sysfd = fd;
  f->path = std::move(p);
  return file(f);
}

file file::create(std::string_view path, unsigned perm) { return open(path, O_RDWR | O_CREAT | O_TRUNC, perm); }

file::file(file&& other) noexcept : f_(std::exchange(other.f_, nullptr)) {}

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    detail::destroy(f_);
    f_ = std::exchange(other.f_, nullptr);
  }
  return *this;
}

file::~file() { detail::destroy(f_); }

std::size_t file::read(std::span<std::byte> buf) {
  file_op op(f_, "read", true);
  for (;;) {
    long n = weft::blocking([&] { return detail::os::file_read(f_->sysfd, buf.data(), buf.size()); });
    if (n >= 0) return static_cast<std::size_t>(n);
    if (n != -EINTR) op.fail_with(static_cast<int>(-n));
  }
}

void file::write(std::span<const std::byte> buf) {
  file_op op(f_, "write", true);
  std::size_t done = 0;
  while (done < buf.size()) {
    long n = weft::blocking([&] { return detail::os::file_write(f_->sysfd, buf.data() + done, buf.size() - done); });
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n == 0) {
      op.fail_with(EIO);  // write(2) of a non-empty buffer made no progress
    } else if (n != -EINTR) {
      op.fail_with(static_cast<int>(-n));
    }
  }
}

void file::write(std::string_view s) { write(std::as_bytes(std::span<const char>(s.data(), s.size()))); }

std::size_t file::read_at(std::span<std::byte> buf, std::int64_t offset) {
  file_op op(f_, "read_at", false);
  if (offset < 0) op.fail_with(EINVAL);
  std::size_t got = 0;
  while (got < buf.size()) {
    long n = weft::blocking([&] {
      return detail::os::file_pread(f_->sysfd, buf.data() + got, buf.size() - got,
                                    offset + static_cast<std::int64_t>(got));
    });
    if (n == 0) break;  // end of file
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n != -EINTR) {
      op.fail_with(static_cast<int>(-n));
    }
  }
  return got;
}

void file::write_at(std::span<const std::byte> buf, std::int64_t offset) {
  file_op op(f_, "write_at", false);
  if (offset < 0) op.fail_with(EINVAL);
  std::size_t done = 0;
  while (done < buf.size()) {
    long n = weft::blocking([&] {
      return detail::os::file_pwrite(f_->sysfd, buf.data() + done, buf.size() - done,
                                     offset + static_cast<std::int64_t>(done));
    });
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n == 0) {
      op.fail_with(EIO);
    } else if (n != -EINTR) {
      op.fail_with(static_cast<int>(-n));
    }
  }
}

std::int64_t file::size() {
  file_op op(f_, "size", false);
  std::int64_t n = weft::blocking([&] { return detail::os::file_size(f_->sysfd); });
  if (n < 0) op.fail_with(static_cast<int>(-n));
  return n;
}

void file::sync() {
  file_op op(f_, "sync", false);
  int r = weft::blocking([&] { return detail::os::file_sync(f_->sysfd); });
  if (r < 0) op.fail_with(-r);
}

void file::close() { detail::close_file(f_); }

std::string file::name() const { return f_ ? f_->path : std::string(); }

}  // namespace weft::os
