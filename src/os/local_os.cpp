// src/os/local_os.cpp: weft::os served by this process (the default; see
// service.hpp).
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
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>

#include <weft/blocking.hpp>
#include <weft/mutex.hpp>

#include "os/service.hpp"
#include "platform/file.hpp"
#include "poll/fd_mutex.hpp"

namespace weft::detail {

void os_fail(const char* op, std::string_view path, int err) {
  throw std::system_error(err, std::generic_category(), std::string("weft::os::") + op + " " + std::string(path));
}

namespace {

class local_file final : public file_backend {
 public:
  local_file(int fd, std::string path) : sysfd_(fd), path_(std::move(path)) {}

  std::size_t read(std::span<std::byte> buf) override {
    op o(this, "read", true);
    for (;;) {
      long n = weft::blocking([&] { return os::file_read(sysfd_, buf.data(), buf.size()); });
      if (n >= 0) return static_cast<std::size_t>(n);
      if (n != -EINTR) o.fail_with(static_cast<int>(-n));
    }
  }

  void write(std::span<const std::byte> buf) override {
    op o(this, "write", true);
    std::size_t done = 0;
    while (done < buf.size()) {
      long n = weft::blocking([&] { return os::file_write(sysfd_, buf.data() + done, buf.size() - done); });
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n == 0) {
        o.fail_with(EIO);  // write(2) of a non-empty buffer made no progress
      } else if (n != -EINTR) {
        o.fail_with(static_cast<int>(-n));
      }
    }
  }

  std::size_t read_at(std::span<std::byte> buf, std::int64_t offset) override {
    op o(this, "read_at", false);
    if (offset < 0) o.fail_with(EINVAL);
    std::size_t got = 0;
    while (got < buf.size()) {
      long n = weft::blocking([&] {
        return os::file_pread(sysfd_, buf.data() + got, buf.size() - got, offset + static_cast<std::int64_t>(got));
      });
      if (n == 0) break;  // end of file
      if (n > 0) {
        got += static_cast<std::size_t>(n);
      } else if (n != -EINTR) {
        o.fail_with(static_cast<int>(-n));
      }
    }
    return got;
  }

  void write_at(std::span<const std::byte> buf, std::int64_t offset) override {
    op o(this, "write_at", false);
    if (offset < 0) o.fail_with(EINVAL);
    std::size_t done = 0;
    while (done < buf.size()) {
      long n = weft::blocking([&] {
        return os::file_pwrite(sysfd_, buf.data() + done, buf.size() - done, offset + static_cast<std::int64_t>(done));
      });
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n == 0) {
        o.fail_with(EIO);
      } else if (n != -EINTR) {
        o.fail_with(static_cast<int>(-n));
      }
    }
  }

  std::int64_t size() override {
    op o(this, "size", false);
    std::int64_t n = weft::blocking([&] { return os::file_size(sysfd_); });
    if (n < 0) o.fail_with(static_cast<int>(-n));
    return n;
  }

  void sync() override {
    op o(this, "sync", false);
    int r = weft::blocking([&] { return os::file_sync(sysfd_); });
    if (r < 0) o.fail_with(-r);
  }

  void close() override {
    if (!refs_.begin_close()) return;
    struct finished {
      fd_mutex& refs;
      ~finished() { refs.close_finished(); }
    } done{refs_};
    refs_.wait_drained();
    int fd = std::exchange(sysfd_, -1);
    // close(2) of a regular file may flush (NFS): it blocks like any other call.
    weft::blocking([fd] { return os::file_close(fd); });
  }

  std::string name() const override { return path_; }

  void destroy() noexcept override {
    try {
      close();
      refs_.wait_closed();  // a close begun by another goroutine may still be inside
    } catch (...) {
      return;  // leaked rather than freed under a call still inside
    }
    delete this;
  }

 private:
  // One call inside: a reference, and io_mu if the call moves the offset.
  class op {
   public:
    op(local_file* f, const char* name, bool offset) : f_(f), name_(name) {
      if (!f->refs_.incref()) os_fail(name, f->path_, EBADF);
      if (offset) {
        f->io_mu_.lock();
        locked_ = true;
      }
    }
    ~op() {
      if (locked_) f_->io_mu_.unlock();
      f_->refs_.decref();
    }
    op(const op&) = delete;
    op& operator=(const op&) = delete;
    [[noreturn]] void fail_with(int err) const { os_fail(name_, f_->path_, err); }

   private:
    local_file* f_;
    const char* name_;
    bool locked_ = false;
  };

  int sysfd_ = -1;
  std::string path_;
  fd_mutex refs_;
  weft::mutex io_mu_;  // read and write: the file offset
};

class local_os final : public os_service {
 public:
  file_backend* open(const std::string& path, int flags, unsigned perm) override {
    int fd = weft::blocking([&] { return os::file_open(path.c_str(), flags, perm); });
    if (fd < 0) os_fail("open", path, -fd);
    return new local_file(fd, path);
  }
  std::optional<std::string> getenv(const std::string& name) override {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }
  std::string hostname() override {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) os_fail("hostname", "", errno);
    return buf;
  }
};

local_os the_local_os;
std::atomic<os_service*> installed{nullptr};

}  // namespace

os_service& current_os() noexcept {
  os_service* s = installed.load(std::memory_order_acquire);
  return s ? *s : the_local_os;
}

void install_os(os_service* s) noexcept { installed.store(s, std::memory_order_release); }

}  // namespace weft::detail
