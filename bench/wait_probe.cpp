// bench/wait_probe.cpp: what a process's wait for a reply costs, by the
// kernel interface it waits through. Issue 13's open question: would a
// completion-based receive (io_uring) close the gap between a weft client
// and hiredis in remote_chan and remote_counter, where a weft client's idle
// M waits in epoll_pwait2 and then reads, and hiredis blocks in read?
//
// One client process and one echo process (blocking read, then write of
// what it read), 64-byte messages over loopback TCP with TCP_NODELAY: one
// hop of the ipc workloads and its answer. The client sends, then waits
// for the whole echo through one interface:
//
//   block   a blocking read (hiredis)
//   epoll   edge-triggered epoll_wait, then recv (weft's idle M and its
//           reader goroutine, with no runtime in between)
//   uring   a recv submitted to an io_uring and waited for in the same
//           io_uring_enter (the completion receive proposed for weft)
//   spin    recv(MSG_DONTWAIT) in a loop: the client never sleeps (the
//           floor: what is left when the wait costs no sleep and wake-up)
//
//   wait_probe [-rounds R] [-runs N]
// Exit status 3: io_uring is not available on this machine.
// Prints, per mode, the median round trip and the client's CPU per round
// trip (getrusage) over N runs, the modes interleaved so that the machine's
// drift hits all of them alike, and the ratios to epoll.
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int msg_size = 64;
constexpr int warmup = 2000;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "wait_probe: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

enum class mode { block, epoll, uring, spin };
constexpr const char* mode_names[] = {"block", "epoll", "uring", "spin"};

double cpu_us_now() {
  rusage r{};
  ::getrusage(RUSAGE_SELF, &r);
  return (static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec)) * 1e6 +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

void nodelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
}

// The echo process: blocking reads and writes until the client closes.
[[noreturn]] void echo(int fd) {
  unsigned char b[msg_size];
  for (;;) {
    ssize_t n = ::read(fd, b, sizeof b);
    if (n <= 0) ::_exit(n == 0 ? 0 : 1);
    if (::write(fd, b, static_cast<std::size_t>(n)) != n) ::_exit(1);
  }
}

// The client's side of one run: a connection, and the interface it waits
// through.
struct client {
  mode m;
  int fd = -1;
  int ep = -1;
  io_uring ring{};
  unsigned char out[msg_size] = {};
  unsigned char in[msg_size] = {};

  // Waits for the rest of the echo from `got` bytes on; returns how many
  // bytes the one wake-up brought.
  int wait_some(int got) {
    unsigned char* at = in + got;
    const auto want = static_cast<std::size_t>(msg_size - got);
    ssize_t n = 0;
    switch (m) {
      case mode::block:
        n = ::read(fd, at, want);
        break;
      case mode::epoll: {
        n = ::recv(fd, at, want, MSG_DONTWAIT);  // an edge may have come already
        while (n < 0 && errno == EAGAIN) {
          epoll_event ev{};
          if (::epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR) die("epoll_wait");
          n = ::recv(fd, at, want, MSG_DONTWAIT);
        }
        break;
      }
      case mode::uring: {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        if (sqe == nullptr) die("io_uring: no free SQE");
        io_uring_prep_recv(sqe, fd, at, want, 0);
        int r = io_uring_submit_and_wait(&ring, 1);
        if (r < 0) {
          errno = -r;
          die("io_uring_submit_and_wait");
        }
        io_uring_cqe* cqe = nullptr;
        if (io_uring_peek_cqe(&ring, &cqe) != 0 || cqe == nullptr) die("io_uring: no completion after the wait");
        n = cqe->res;
        if (n < 0) errno = -cqe->res;
        io_uring_cqe_seen(&ring, cqe);
        break;
      }
      case mode::spin:
        do {
          n = ::recv(fd, at, want, MSG_DONTWAIT);
        } while (n < 0 && errno == EAGAIN);
        break;
    }
    if (n <= 0) die(std::string(mode_names[static_cast<int>(m)]) + ": receive");
    return static_cast<int>(n);
  }

  void round_trip(std::uint64_t i) {
    std::memcpy(out, &i, sizeof i);
    if (::send(fd, out, msg_size, 0) != msg_size) die("send (short or failed)");
    for (int got = 0; got < msg_size;) got += wait_some(got);
    if (std::memcmp(in, out, msg_size) != 0) {
      std::fprintf(stderr, "wait_probe: round trip %llu: the echo differs from what was sent\n",
                   static_cast<unsigned long long>(i));
      std::exit(1);
    }
  }
};

struct result {
  double rt_us;
  double cpu_us;
};

result run(mode m, int rounds) {
  int ln = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (ln < 0 || ::bind(ln, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(ln, 1) != 0 ||
      ::getsockname(ln, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("listen on 127.0.0.1");
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int s = ::accept(ln, nullptr, nullptr);
    if (s < 0) ::_exit(1);
    nodelay(s);
    echo(s);
  }
  ::close(ln);
  client c;
  c.m = m;
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  nodelay(c.fd);
  if (m == mode::epoll) {
    c.ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    if (c.ep < 0 || ::epoll_ctl(c.ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) die("epoll");
  }
  if (m == mode::uring) {
    if (int err = io_uring_queue_init(8, &c.ring, 0); err != 0) {
      if (err == -ENOSYS || err == -EPERM || err == -EACCES) {
        std::fprintf(stderr, "wait_probe: io_uring is not available here (%s): skipped\n", std::strerror(-err));
        ::kill(pid, SIGKILL);
        std::exit(3);
      }
      errno = -err;
      die("io_uring_queue_init");
    }
  }
  std::uint64_t i = 0;
  for (; i < warmup; ++i) c.round_trip(i);
  double cpu0 = cpu_us_now();
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < rounds; ++k, ++i) c.round_trip(i);
  double wall = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_us_now() - cpu0;
  ::close(c.fd);
  if (c.ep >= 0) ::close(c.ep);
  if (m == mode::uring) io_uring_queue_exit(&c.ring);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the echo process failed");
  return {wall / rounds, cpu / rounds};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 50000, runs = 5;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc || (k != "-rounds" && k != "-runs")) {
      std::fprintf(stderr, "usage: wait_probe [-rounds R] [-runs N]\n");
      return 2;
    }
    (k == "-rounds" ? rounds : runs) = std::atoi(argv[i + 1]);
  }
  if (rounds < 1 || runs < 1) {
    std::fprintf(stderr, "wait_probe: -rounds and -runs must be at least 1\n");
    return 2;
  }
  constexpr mode modes[] = {mode::block, mode::epoll, mode::uring, mode::spin};
  std::vector<double> rt[4], cpu[4];
  for (int r = 0; r < runs; ++r) {
    for (mode m : modes) {
      result x = run(m, rounds);
      rt[static_cast<int>(m)].push_back(x.rt_us);
      cpu[static_cast<int>(m)].push_back(x.cpu_us);
    }
  }
  const double ep_rt = median(rt[1]), ep_cpu = median(cpu[1]);
  for (mode m : modes) {
    const int k = static_cast<int>(m);
    const double t = median(rt[k]), c = median(cpu[k]);
    std::printf("bench=wait_probe impl=%s value=%.2f unit=us extra=cpu_us:%.2f,rounds:%d,runs:%d\n", mode_names[k], t,
                c, rounds, runs);
  }
  std::printf("against epoll (round trip, client CPU): ");
  for (mode m : modes) {
    const int k = static_cast<int>(m);
    std::printf("%s %.2f %.2f  ", mode_names[k], median(rt[k]) / ep_rt, median(cpu[k]) / ep_cpu);
  }
  std::printf("(less is better)\n");
  return 0;
}
