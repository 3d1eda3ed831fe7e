// src/platform/send_ring.cpp: see send_ring.hpp.
#include "platform/send_ring.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <new>

#ifdef WEFT_HAVE_LIBURING
#include <liburing.h>
#endif

namespace weft::detail::os {

#ifdef WEFT_HAVE_LIBURING

struct send_ring {
  io_uring ring;
  unsigned entries = 0;
  unsigned posted = 0;  // queued and not yet completed
};

send_ring* send_ring_new(unsigned entries, int* err) noexcept {
  auto* r = new (std::nothrow) send_ring;
  if (r == nullptr) {
    *err = ENOMEM;
    return nullptr;
  }
  int e = io_uring_queue_init(entries, &r->ring, 0);
  if (e < 0) {
    *err = -e;
    delete r;
    return nullptr;
  }
  // A forked child must not share the parent's rings (the mappings are
  // shared memory): it gets none, and drops its pointers (send_batch.cpp).
  io_uring_ring_dontfork(&r->ring);
  r->entries = entries;
  return r;
}

void send_ring_free(send_ring* r) noexcept {
  if (r == nullptr) return;
  io_uring_queue_exit(&r->ring);
  delete r;
}

bool send_ring_post(send_ring* r, int fd, const void* buf, std::size_t len, std::uint64_t tag) noexcept {
  if (r->posted == r->entries) return false;
  io_uring_sqe* sqe = io_uring_get_sqe(&r->ring);
  if (sqe == nullptr) return false;
  io_uring_prep_send(sqe, fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag);
  ++r->posted;
  return true;
}

int send_ring_flush(send_ring* r, void (*done)(void* arg, std::uint64_t tag, long result), void* arg) noexcept {
  int completed = 0;
  while (r->posted > 0) {
    if (io_uring_sq_ready(&r->ring) > 0) {
      int s = io_uring_submit(&r->ring);
      if (s < 0 && s != -EINTR && s != -EAGAIN && s != -EBUSY) {
        errno = -s;
        return -1;
      }
    }
    io_uring_cqe* cqe = nullptr;
    int e = io_uring_peek_cqe(&r->ring, &cqe);
    if (e == -EAGAIN && io_uring_sq_ready(&r->ring) == 0) {
      // Not expected with MSG_DONTWAIT (see the header); if a kernel
      // leaves one in flight anyway, it completes without us.
      e = io_uring_wait_cqe(&r->ring, &cqe);
    }
    if (e < 0) continue;  // EINTR, or submissions still to make
    std::uint64_t tag = io_uring_cqe_get_data64(cqe);
    long result = cqe->res;
    io_uring_cqe_seen(&r->ring, cqe);
    --r->posted;
    ++completed;
    done(arg, tag, result);
  }
  return completed;
}

#else  // built without liburing

struct send_ring {};

send_ring* send_ring_new(unsigned, int* err) noexcept {
  *err = ENOSYS;
  return nullptr;
}
void send_ring_free(send_ring*) noexcept {}
bool send_ring_post(send_ring*, int, const void*, std::size_t, std::uint64_t) noexcept { return false; }
int send_ring_flush(send_ring*, void (*)(void*, std::uint64_t, long), void*) noexcept { return 0; }

#endif

}  // namespace weft::detail::os
