// bench/io_uring_probe.cpp: would io_uring make a faster netpoller than
// epoll on this kernel? (Issue 12 asks to evaluate it for tcp_echo.)
//
// The tcp_echo workload (../shared/bench/WORKLOADS.md: C connections over
// loopback, K round trips of 64 bytes each, TCP_NODELAY) driven by one
// thread with no runtime at all, so that only the kernel interface differs:
//
//   epoll     what weft's netpoller makes of a socket: edge-triggered
//             epoll; on readiness, read until EAGAIN and answer at once
//             with write(2) (a goroutine's read, write, and the read that
//             parks it).
//   uring     completion-based: a recv always posted on every socket; each
//             answer is a send; every posted operation is submitted with
//             the next wait, in one io_uring_enter.
//   uring_dt  the same with IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN
//             (completions run when the thread waits, not by interrupt).
//   uring_rw  recvs through io_uring as in uring, answers by write(2) at
//             once: how much of io_uring's gain a backend keeps if only
//             a goroutine's wait for bytes goes through the ring.
//   epoll_ws  readiness from epoll as in epoll, but the answers are sends
//             posted on a ring and submitted together (one io_uring_enter)
//             before the next epoll_wait: how much a readiness netpoller
//             keeps if only the writes are batched.
//
// Both sides of every connection are in this thread, as in weft-bench's
// tcp_echo. If io_uring does not beat epoll here, where the interface is
// all that differs, it cannot beat it behind goroutines either.
//
//   io_uring_probe [-conns C] [-rounds K] [-runs N]
// Exit status 3: io_uring is not available on this machine.
// Prints one line per mode (median of N runs, the modes interleaved) and
// the ratios.
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int msg_size = 64;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "io_uring_probe: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void fill(unsigned char* m, std::uint64_t conn, std::uint64_t round) {
  std::memcpy(m, &conn, 8);  // little-endian on x86-64, as WORKLOADS.md says
  std::memcpy(m + 8, &round, 8);
  for (int i = 16; i < msg_size; ++i) m[i] = static_cast<unsigned char>((conn + round + i) % 256);
}

// One end of a connection: a client (sends round r, expects it back) or
// the server side (echoes what it reads).
struct end {
  int fd = -1;
  bool client = false;
  std::uint64_t index = 0;
  std::uint64_t round = 0;
  int got = 0;
  unsigned char in[msg_size] = {};
  unsigned char out[msg_size] = {};
};

struct pairs {
  std::vector<end> ends;  // client i at 2i, its server side at 2i + 1
};

void nodelay_nonblock(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("O_NONBLOCK");
}

pairs connect_all(int conns) {
  int ln = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (ln < 0 || ::bind(ln, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(ln, 1024) != 0 ||
      ::getsockname(ln, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("listen on 127.0.0.1");
  pairs p;
  p.ends.resize(2 * static_cast<std::size_t>(conns));
  for (int i = 0; i < conns; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
    int s = ::accept4(ln, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) die("accept");
    nodelay_nonblock(c);
    nodelay_nonblock(s);
    end& client = p.ends[2 * static_cast<std::size_t>(i)];
    end& server = p.ends[2 * static_cast<std::size_t>(i) + 1];
    client.fd = c;
    client.client = true;
    client.index = static_cast<std::uint64_t>(i);
    server.fd = s;
    server.index = static_cast<std::uint64_t>(i);
  }
  ::close(ln);
  return p;
}

void close_all(pairs& p) {
  for (end& e : p.ends) ::close(e.fd);
}

// A whole message arrived at e: what it sends next (false: nothing, the
// client is done). Checks a client's reply byte for byte.
bool on_message(end& e, int rounds) {
  if (!e.client) {
    std::memcpy(e.out, e.in, msg_size);
    return true;
  }
  unsigned char want[msg_size];
  fill(want, e.index, e.round);
  if (std::memcmp(want, e.in, msg_size) != 0) {
    std::fprintf(stderr, "io_uring_probe: connection %llu round %llu: wrong reply\n",
                 static_cast<unsigned long long>(e.index), static_cast<unsigned long long>(e.round));
    std::exit(1);
  }
  if (++e.round == static_cast<std::uint64_t>(rounds)) return false;
  fill(e.out, e.index, e.round);
  return true;
}

void write_all(int fd, const unsigned char* b) {
  // 64 bytes into an empty loopback socket buffer: never short here; a
  // short write would make the comparison unfair, so it is an error.
  if (::write(fd, b, msg_size) != msg_size) die("write (short or failed)");
}

enum op : std::uint64_t { op_recv = 0, op_send = 1 };

void post_recv(io_uring& ring, end& e, std::size_t i) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (sqe == nullptr) die("io_uring: no free SQE");
  io_uring_prep_recv(sqe, e.fd, e.in + e.got, static_cast<std::size_t>(msg_size - e.got), 0);
  io_uring_sqe_set_data64(sqe, (i << 1) | op_recv);
}

void post_send(io_uring& ring, end& e, std::size_t i) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (sqe == nullptr) die("io_uring: no free SQE");
  io_uring_prep_send(sqe, e.fd, e.out, msg_size, 0);
  io_uring_sqe_set_data64(sqe, (i << 1) | op_send);
}

// batched_sends: the answers are posted on a ring and submitted together
// before the next epoll_wait (epoll_ws); else written at once.
double run_epoll(int conns, int rounds, bool batched_sends = false) {
  pairs p = connect_all(conns);
  io_uring ring;
  if (batched_sends) {
    if (int err = io_uring_queue_init(static_cast<unsigned>(2 * p.ends.size()), &ring, 0); err != 0) {
      errno = -err;
      die("io_uring_queue_init");
    }
  }
  auto answer = [&](end& e, std::size_t i) {
    if (batched_sends)
      post_send(ring, e, i);
    else
      write_all(e.fd, e.out);
  };
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 0; i < p.ends.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, p.ends[i].fd, &ev) != 0) die("epoll_ctl");
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < conns; ++i) {
    end& c = p.ends[2 * i];
    fill(c.out, c.index, 0);
    answer(c, 2 * static_cast<std::size_t>(i));
  }
  int done = 0;
  std::vector<epoll_event> evs(512);
  while (done < conns) {
    if (batched_sends) {
      if (io_uring_submit(&ring) < 0) die("io_uring_submit");
      io_uring_cqe* cqe = nullptr;
      unsigned head = 0, seen = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        ++seen;
        if (cqe->res != msg_size) die("send (short or failed)");
      }
      io_uring_cq_advance(&ring, seen);
    }
    int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      std::size_t i = evs[k].data.u64;
      end& e = p.ends[i];
      for (;;) {  // until EAGAIN, as an edge-triggered reader must
        ssize_t r = ::read(e.fd, e.in + e.got, msg_size - e.got);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) die("read");
        e.got += static_cast<int>(r);
        if (e.got < msg_size) continue;
        e.got = 0;
        if (on_message(e, rounds))
          answer(e, i);
        else
          ++done;
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(ep);
  if (batched_sends) io_uring_queue_exit(&ring);
  close_all(p);
  return static_cast<double>(conns) * rounds / secs;
}

double run_uring(int conns, int rounds, unsigned flags, bool direct_writes = false) {
  pairs p = connect_all(conns);
  io_uring ring;
  io_uring_params params{};
  params.flags = flags;
  int err = io_uring_queue_init_params(static_cast<unsigned>(4 * p.ends.size()), &ring, &params);
  if (err == -ENOSYS || err == -EPERM || err == -EACCES) {
    // A kernel without io_uring, kernel.io_uring_disabled, or a seccomp
    // filter (container runtimes often refuse it): nothing to measure.
    std::fprintf(stderr, "io_uring_probe: io_uring is not available here (%s): skipped\n", std::strerror(-err));
    std::exit(3);
  }
  if (err != 0) {
    errno = -err;
    die("io_uring_queue_init");
  }
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < p.ends.size(); ++i) {
    end& e = p.ends[i];
    if (e.client) {
      fill(e.out, e.index, 0);
      if (direct_writes)
        write_all(e.fd, e.out);
      else
        post_send(ring, e, i);
    }
    post_recv(ring, e, i);
  }
  int done = 0;
  while (done < conns) {
    int r = io_uring_submit_and_wait(&ring, 1);
    if (r < 0 && r != -EINTR) {
      errno = -r;
      die("io_uring_submit_and_wait");
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      std::uint64_t d = io_uring_cqe_get_data64(cqe);
      std::size_t i = d >> 1;
      end& e = p.ends[i];
      if ((d & 1) == op_send) {
        if (cqe->res != msg_size) die("send (short or failed)");
        continue;
      }
      if (cqe->res <= 0) {
        errno = -cqe->res;
        die("recv");
      }
      e.got += cqe->res;
      if (e.got == msg_size) {
        e.got = 0;
        if (!on_message(e, rounds)) {
          ++done;
          continue;
        }
        if (direct_writes)
          write_all(e.fd, e.out);
        else
          post_send(ring, e, i);
      }
      post_recv(ring, e, i);
    }
    io_uring_cq_advance(&ring, seen);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  io_uring_queue_exit(&ring);
  close_all(p);
  return static_cast<double>(conns) * rounds / secs;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int conns = 200, rounds = 200, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "-conns")
      conns = v;
    else if (k == "-rounds")
      rounds = v;
    else if (k == "-runs")
      runs = v;
    else {
      std::fprintf(stderr, "usage: io_uring_probe [-conns C] [-rounds K] [-runs N]\n");
      return 2;
    }
  }
  if (conns < 1 || rounds < 1 || runs < 1) {
    std::fprintf(stderr, "io_uring_probe: -conns, -rounds and -runs must be at least 1\n");
    return 2;
  }
  std::vector<double> ep, ur, dt, rw, ws;
  for (int r = 0; r < runs; ++r) {  // interleaved: the machine's drift hits all three alike
    ep.push_back(run_epoll(conns, rounds));
    ur.push_back(run_uring(conns, rounds, 0));
    dt.push_back(run_uring(conns, rounds, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN));
    rw.push_back(run_uring(conns, rounds, 0, true));
    ws.push_back(run_epoll(conns, rounds, true));
  }
  double e = median(ep), u = median(ur), d = median(dt), w = median(rw), b = median(ws);
  std::printf("bench=tcp_echo_probe impl=epoll value=%.0f unit=rt/s extra=conns:%d,rounds:%d,runs:%d\n", e, conns,
              rounds, runs);
  std::printf("bench=tcp_echo_probe impl=uring value=%.0f unit=rt/s\n", u);
  std::printf("bench=tcp_echo_probe impl=uring_dt value=%.0f unit=rt/s\n", d);
  std::printf("bench=tcp_echo_probe impl=uring_rw value=%.0f unit=rt/s\n", w);
  std::printf("bench=tcp_echo_probe impl=epoll_ws value=%.0f unit=rt/s\n", b);
  std::printf("uring/epoll %.2f  uring_dt/epoll %.2f  uring_rw/epoll %.2f  epoll_ws/epoll %.2f  (a rate: more is better)\n",
              u / e, d / e, w / e, b / e);
  return 0;
}
