// src/circuit/fork_server_entry.cpp: a process of this binary that makes
// workers for weftd by forking (server/fork_server.hpp starts it; the
// messages are wire/fork_request.hpp's).
//
// Why: nearly all of a spawn's time was the worker's binary starting (the
// dynamic loader relocating libprotobuf and libstdc++, the kernel mapping
// and faulting the binary: README, "Benchmarks"). A fork server pays that
// once; each worker is a copy of it.
//
// Where it stops: in a constructor of priority 103, which runs once every
// shared library is loaded and initialized, after the executable's
// constructors of priority 101 and 102 (protobuf's generated code asks for
// those: its default instances and the registration of its descriptors,
// which parses every .proto's descriptor: ~0.1 ms a worker did again
// before this server ran them once), and before its constructors of default
// priority (WEFT_SPAWNABLE registrations, the program's globals) and main.
// A program's own constructor with a priority under 103 runs once, here,
// not in each worker. A
// forked worker then runs the executable's constructors, main and
// weft::run as a started one does, with its own environment; only what
// the libraries did while loading is shared, and they did it with the same
// environment (weftd keeps one fork server per binary, argv[0] and
// environment).
//
// Invariants:
//   F1 It forks only while it is the one thread (checked before "ready"):
//      another thread's locks would be copied held.
//   F2 A worker is weftd's child, not the fork server's (CLONE_PARENT):
//      weftd waits for it and signals it through a pidfd as for one it
//      started itself, and the fork server keeps nothing per worker.
//   F3 It ends when weftd closes its end or ends: never orphaned.
//   F4 Nothing of the server reaches a worker but the process image:
//      stdio is flushed before "ready", the socket is closed in the
//      worker, the environment is replaced and the log file becomes its
//      stdout and stderr.
//   F5 A request's second descriptor, when there is one, is the worker's
//      connection to weftd: one end of a socketpair weftd made for this
//      worker alone and serves as already authenticated (no cluster key
//      proof, server/fork_server.hpp). Only the worker keeps it (the server
//      closes its copy at once), it is close-on-exec, and weft::run takes
//      it only in a process this server made (take_weftd_connection), so
//      no other process, not even a program the worker runs, gets it.
//   F6 A spare (weftd asks for them: WEFT_FORK_SPARE=1) is a child forked
//      ahead of the request it will serve, as Android's zygote and
//      Python's forkserver keep one: it waits in a receive on a private
//      socketpair with the server, holding nothing else of the server's
//      (weftd's socket is closed at its birth), and when the server hands
//      it a request (the same bytes and descriptors, F5) it becomes that
//      worker exactly as a fresh fork would (become_worker). The server
//      answers with the spare's pid and names the next spare in the same
//      answer, so weftd knows every spare it must reap (one that died
//      unused, or the last one: server/fork_server.hpp, K5). A spare dies
//      when its server goes (its socket reads end of stream), and it is
//      made only after the request's descriptors are closed, so it never
//      holds another worker's connection. Why: copying the page tables
//      leaves the spawn's path, and a waiting spare is woken rather than
//      started as a new task. weftd asks for spares only when told to
//      (WEFT_FORK_SPARE=1): on a loaded 2-core machine they were not
//      faster, the next spare's fork competing with the new worker for
//      the cores (docs/circuit.md, "Fork servers").
//   F7 Between a request's arrival and the next, neither the server nor
//      the child it forks allocates or frees on the request's behalf: the
//      request is read as views into the receive buffer, the answer made
//      on the stack. Each free was a write to a heap page the two share
//      after the fork, a copy-on-write fault on one side or the other
//      (the server took ~26 a fork, some before its answer went out).
// What a forked worker shares with its server, unlike a started one (said
// in docs/circuit.md): the address-space layout and the stack canary (as
// Android's zygote), and libraries' pthread_atfork handlers do not run in
// it (glibc's fork cannot make another process's child: this is clone).
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "circuit/fork_server_entry.hpp"
#include "platform/process.hpp"
#include "runtime/send_batch.hpp"
#include "wire/fork_request.hpp"

namespace weft::circuit::detail {

namespace {

bool forked = false;  // constant-initialized: safe before any constructor
int weftd_connection = -1;  // F5; in a worker only
bool spares_asked = false;  // F6: weftd's WEFT_FORK_SPARE=1

// A spare's name while it waits (what ps shows of it);
// a worker gets its server's name back.
constexpr const char* spare_name = "weft spare";

bool send_text(int sock, std::string_view s) {
  return ::send(sock, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

int count_threads() {
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

// One request into buf (of size bytes; the request: its first got bytes),
// and its descriptors: the log file into log, the worker's connection to
// weftd (F5) into conn (-1 when weftd sent none); false when weftd has
// gone (F3).
bool receive(int sock, char* buf, std::size_t size, std::size_t& got, int& log, int& conn) {
  for (;;) {
    iovec iov{buf, size};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    log = -1;
    conn = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      if (c->cmsg_len == CMSG_LEN(sizeof(int))) {
        std::memcpy(&log, CMSG_DATA(c), sizeof(int));
      } else if (c->cmsg_len == CMSG_LEN(2 * sizeof(int))) {
        std::memcpy(&log, CMSG_DATA(c), sizeof(int));
        std::memcpy(&conn, CMSG_DATA(c) + sizeof(int), sizeof(int));
      }
    }
    got = static_cast<std::size_t>(n);
    if ((msg.msg_flags & MSG_TRUNC) != 0) got = size + 1;  // over the bound: refused as malformed
    return true;
  }
}

// Hands a request (bytes, and its descriptors) to a spare (F6); false
// when the spare cannot take it (it died).
bool forward(int to, const char* bytes, std::size_t n, int log, int conn) {
  iovec iov{const_cast<char*>(bytes), n};
  const int fds[2] = {log, conn};
  const std::size_t nfds = conn >= 0 ? 2 : 1;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (log >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  for (;;) {
    if (::sendmsg(to, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(n)) return true;
    if (errno != EINTR) return false;
  }
}

// In the new process: becomes the worker r describes (F4). r points into
// the request's buffer, which the new process never frees.
void become_worker(const wire::fork_request_view& r, int sock, int log, int conn) {
  forked = true;
  weftd_connection = conn;
  ::close(sock);
  if (log >= 0) {
    ::dup2(log, 1);
    ::dup2(log, 2);
    if (log > 2) ::close(log);
  }
  ::setsid();  // a session of its own, as a started worker has
  if (::chdir(r.cwd.data()) != 0) {
    std::fprintf(stderr, "weft: worker: cannot enter %s: %s\n", r.cwd.data(), std::strerror(errno));
    ::_exit(127);
  }
  ::clearenv();
  r.for_each_env([](const char* e) { ::putenv(::strdup(e)); });  // putenv keeps the string
}

struct spare {
  long pid = 0;  // 0: none; -1: this process is the spare, now a worker
  int sock = -1;  // the server's end of their socketpair
};

// In a spare (F6): waits for its request and becomes that worker, or
// exits when its server has gone.
void spare_life(int own, char* buf, std::size_t size) {
  char name[17] = {};
  ::prctl(PR_GET_NAME, name);
  ::prctl(PR_SET_NAME, spare_name);
  int log = -1, conn = -1;
  std::size_t got = 0;
  if (!receive(own, buf, size, got, log, conn)) ::_exit(0);
  std::string why;
  std::optional<wire::fork_request_view> req =
      got > size ? std::nullopt : wire::decode_fork_request_view(std::string_view(buf, got), why);
  if (!req) ::_exit(127);  // the server checked it: not reached
  ::prctl(PR_SET_NAME, name);
  become_worker(*req, own, log, conn);
}

// Forks a spare (F6); its pid 0 when it could not.
spare make_spare(int sock, char* buf, std::size_t size) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return {};
  int room = static_cast<int>(size) + 4096;  // a request is one datagram
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
  ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  const long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    ::close(sv[0]);
    ::close(sock);
    spare_life(sv[1], buf, size);
    return spare{-1, -1};
  }
  ::close(sv[1]);
  if (pid < 0) {
    ::close(sv[0]);
    return {};
  }
  return spare{pid, sv[0]};
}

// Answers requests until weftd goes (then exits) or a worker is made
// (then returns, in the worker).
void serve(int sock) {
  const int threads = count_threads();
  if (threads != 1) {
    send_text(sock, threads < 0 ? std::string("refused cannot read /proc/self/task")
                                : "refused " + std::to_string(threads) +
                                      " threads run before main (a library's): a fork would copy their locks");
    ::_exit(0);
  }
  std::fflush(nullptr);
  // Never written but by what arrives: each page this process writes
  // after a fork is a copy-on-write fault, so it writes as few as it can.
  const std::size_t size = wire::max_fork_request;
  std::unique_ptr<char[]> buf(new char[size]);
  spare next;
  if (spares_asked) {
    next = make_spare(sock, buf.get(), size);
    if (next.pid < 0) return;  // in the spare, now a worker
  }
  if (!send_text(sock, wire::encode_fork_ready(spares_asked ? next.pid : -1))) ::_exit(0);
  for (;;) {
    int log = -1, conn = -1;
    std::size_t got = 0;
    if (!receive(sock, buf.get(), size, got, log, conn)) ::_exit(0);
    // Nothing below allocates on a request's way to a worker (F7): the
    // request is read as views into buf, the answer made on the stack.
    std::string why;
    std::optional<wire::fork_request_view> req =
        got > size ? std::nullopt : wire::decode_fork_request_view(std::string_view(buf.get(), got), why);
    if (got > size) why = "a fork request is at most " + std::to_string(size) + " bytes";
    wire::fork_answer a;
    struct stat st {};
    if (!req) {
      a.error = EINVAL;
      a.why = why;
    } else if (::stat(req->cwd.data(), &st) != 0) {
      a.error = errno;
      a.why = "cannot enter " + std::string(req->cwd);
    } else if (!S_ISDIR(st.st_mode)) {
      a.error = ENOTDIR;
      a.why = "cannot enter " + std::string(req->cwd);
    } else if (next.pid > 0 && forward(next.sock, buf.get(), got, log, conn)) {
      a.pid = next.pid;
      a.took_connection = conn >= 0;
      ::close(next.sock);
      next = {};
    } else {
      if (next.pid > 0) {  // it died: weftd reaps it (F6)
        ::close(next.sock);
        next = {};
      }
      const long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
      if (pid == 0) {
        become_worker(*req, sock, log, conn);
        return;
      }
      if (pid < 0) {
        a.error = errno;
        a.why = std::string("clone: ") + std::strerror(errno);
      } else {
        a.pid = pid;
        a.took_connection = conn >= 0;
      }
    }
    if (log >= 0) ::close(log);
    if (conn >= 0) ::close(conn);
    if (spares_asked && a.pid > 0) {
      // The next one now, with this request's descriptors closed (F6);
      // named in this answer.
      if (next.pid == 0) next = make_spare(sock, buf.get(), size);
      if (next.pid < 0) return;  // in the spare, now a worker
      a.spare = next.pid;
    }
    char answer[640];
    if (!send_text(sock, wire::encode_fork_answer(a, answer))) ::_exit(0);
  }
}

__attribute__((constructor(103))) void fork_server_entry() {
  const char* v = std::getenv("WEFT_FORK_SERVER");
  if (v == nullptr) return;
  char* end = nullptr;
  const long fd = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || fd < 3 || fd > 1023) return;
  ::unsetenv("WEFT_FORK_SERVER");
  const char* sp = std::getenv("WEFT_FORK_SPARE");
  spares_asked = sp != nullptr && std::strcmp(sp, "1") == 0;
  ::unsetenv("WEFT_FORK_SPARE");
  // Work every worker would do the same way, done once here: the main
  // thread's stack bounds (weft::run asks for them; glibc parses
  // /proc/self/maps to tell).
  char* lo = nullptr;
  char* hi = nullptr;
  weft::detail::os::thread_stack(&lo, &hi);
  // And whether writes are batched through io_uring here: a ring made and
  // dropped, and both kinds of send timed (~1 ms), at every worker's first
  // write otherwise. Measured on this thread (F1). The answer, and the fork
  // handler that forgets the rings, carry into the workers.
  weft::detail::send_batch_settle();
  serve(static_cast<int>(fd));
}

}  // namespace

bool forked_by_fork_server() noexcept { return forked; }

int take_weftd_connection() noexcept {
  const int fd = weftd_connection;
  weftd_connection = -1;
  return fd;
}

}  // namespace weft::circuit::detail
