// src/net/netfd.cpp: the life of a socket under weft::net.
//
// A netfd is a non-blocking socket registered (edge-triggered) with the
// netpoller, plus what it takes to share it between goroutines. Every
// operation is an fd_op: it takes a reference (fd_mutex) and its mode's lock
// (one reader, one writer: the netpoller allows one waiter per mode), tries
// the system call, and on EAGAIN parks in netpoll_wait until an edge, the
// deadline, or close.
//
// Close (Go's fd.Close): set the closing bit, so no operation starts;
// netpoll_evict, so that the waiting ones wake and throw; wait until the
// reference count drains, so the number is not closed under a system call
// in flight; netpoll_close; ::close. The netfd itself stays allocated until
// its conn or listener is destroyed: a goroutine that still holds the object
// finds the closing bit and throws "use of closed network connection"
// instead of touching freed memory. Destroying waits for a close that
// another goroutine has begun to finish.
//
// Deadlines are kept twice: in the netpoller, which wakes a waiter when its
// deadline passes, and here, so that an operation whose deadline has passed
// fails before its system call even if data is there (Go's behaviour: an
// expired deadline fails every call until it is moved). Reading the atomic
// costs nothing when no deadline is set.
#include "net/netfd.hpp"

#include <cerrno>
#include <mutex>

#include "platform/futex.hpp"
#include "platform/socket.hpp"
#include "net/address.hpp"

namespace weft::detail {

netfd* netfd_new(int sysfd, std::string net) {
  auto* fd = new netfd;
  fd->sysfd = sysfd;
  fd->net = std::move(net);
  try {
    fd->pd = netpoll_open(sysfd);
  } catch (...) {
    os::fd_close(sysfd);
    delete fd;
    throw;
  }
  return fd;
}

void netfd_close(netfd* fd) {
  if (!fd || !fd->refs.begin_close()) return;
  struct finished {
    netfd* fd;
    ~finished() { fd->refs.close_finished(); }
  } done{fd};
  netpoll_evict(fd->pd);
  fd->refs.wait_drained();
  netpoll_close(fd->pd);
  fd->pd = nullptr;
  os::fd_close(fd->sysfd);
  fd->sysfd = -1;
  if (!fd->unlink_path.empty()) os::path_unlink(fd->unlink_path.c_str());
}

void netfd_destroy(netfd* fd) noexcept {
  if (!fd) return;
  try {
    netfd_close(fd);
    // Another goroutine's close may still be inside (parked until the
    // operations drain: a stop callback that closes the conn its owner is
    // reading, say); freeing the netfd under it crashed it.
    fd->refs.wait_closed();
  } catch (...) {
    // Parking in close can only fail on misuse of the runtime; the socket
    // is leaked rather than closed under a goroutine still inside it.
    return;
  }
  delete fd;
}

std::string describe(const char* op, const netfd* fd) {
  if (!fd) return describe(op, "", "");
  return describe(op, fd->net, fd->raddr.empty() ? fd->laddr : fd->laddr + "->" + fd->raddr);
}

void throw_op(const char* op, const netfd* fd, int err) { throw_net_error(describe(op, fd), err); }

fd_op::fd_op(netfd* fd, const char* op, weft::mutex* mode_lock) : fd_op(fd, op, mode_lock, nullptr) {}

fd_op::fd_op(netfd* fd, const char* op, weft::mutex* mode_lock, bool* closed)
    : fd_(fd), op_(op), lock_(nullptr), quiet_(closed != nullptr) {
  auto refuse = [&] {
    fd_ = nullptr;
    if (closed == nullptr) throw_net_closed(describe(op, fd));
    *closed = true;
  };
  if (!fd || !fd->refs.incref()) {
    refuse();
    return;
  }
  if (mode_lock) {
    try {
      mode_lock->lock();
    } catch (...) {
      fd->refs.decref();
      throw;
    }
    lock_ = mode_lock;
    // Queued behind an operation that close woke: fail as it did.
    if (fd->refs.closing()) {
      lock_->unlock();
      lock_ = nullptr;
      fd->refs.decref();
      refuse();
    }
  }
}

fd_op::~fd_op() {
  if (fd_ == nullptr) return;  // the quiet form, refused
  if (lock_) lock_->unlock();
  fd_->refs.decref();
}

void fd_op::check_deadline(poll_mode mode) const {
  const auto& d = mode == poll_mode::read ? fd_->read_deadline : fd_->write_deadline;
  std::int64_t when = d.load(std::memory_order_relaxed);
  if (when != INT64_MAX && os::nanotime() >= when) fail(ETIMEDOUT);
}

void fd_op::wait(poll_mode mode) const {
  if (!wait_unless_closed(mode)) throw_net_closed(describe(op_, fd_));
}

bool fd_op::wait_unless_closed(poll_mode mode) const {
  switch (netpoll_wait(fd_->pd, mode)) {
    case poll_result::ready: return true;
    case poll_result::timed_out: fail(ETIMEDOUT);
    case poll_result::closing:
      if (!quiet_) throw_net_closed(describe(op_, fd_));
      return false;
  }
  return true;
}

std::int64_t to_nanotime(weft::net::time_point t) noexcept {
  if (t == weft::net::time_point::max()) return INT64_MAX;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void netfd_set_deadline(netfd* fd, const char* op, bool read, bool write, weft::net::time_point t) {
  fd_op guard(fd, op, nullptr);
  std::int64_t when = to_nanotime(t);
  if (read) {
    fd->read_deadline.store(when, std::memory_order_relaxed);
    netpoll_set_deadline(fd->pd, poll_mode::read, when);
  }
  if (write) {
    fd->write_deadline.store(when, std::memory_order_relaxed);
    netpoll_set_deadline(fd->pd, poll_mode::write, when);
  }
}

}  // namespace weft::detail
