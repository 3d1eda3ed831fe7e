// src/server/fork_server.cpp: weftd's fork servers (design and invariants
// in fork_server.hpp).
#include "server/fork_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

#include <weft/go.hpp>

#include "net/adopt.hpp"
#include "net/netfd.hpp"
#include "platform/lock_scope.hpp"
#include "wire/fork_request.hpp"

namespace weft::server {

using clock = std::chrono::steady_clock;

struct fork_servers::server {
  std::string key, binary;
  std::string file;  // the binary's path and identity on disk: the key's start
  weft::mutex exchange;  // one request in flight
  weft::mutex state_mu;  // sock and proc, and shut: never held across I/O
  detail::netfd* sock GUARDED_BY(state_mu) = nullptr;
  std::unique_ptr<child> proc GUARDED_BY(state_mu);
  bool shut GUARDED_BY(state_mu) = false;
  std::atomic<bool> ready{false};
  // It hands a worker the connection weftd sends (K4); false once it
  // answered without: a program built before, which keeps what it got.
  std::atomic<bool> takes_connection{true};
  // The spare its last message named (K5), 0: none. Changed under
  // exchange (an answer) and state_mu both; read under either.
  long spare GUARDED_BY(state_mu) = 0;
  clock::time_point last_used{};  // under the table's mutex

  // Ends it: its socket closes (it exits), and kill: it is SIGKILLed
  // too (one that stopped answering). Idempotent.
  void end(bool kill) {
    detail::lock_scope lk(state_mu);
    shut = true;
    ready = false;
    if (sock != nullptr) detail::netfd_close(sock);
    if (kill && proc) proc->signal(SIGKILL);
  }
  ~server() {
    // No lock: the last owner is going.
    detail::netfd_destroy(sock_unguarded());
  }

 private:
  detail::netfd* sock_unguarded() NO_THREAD_SAFETY_ANALYSIS { return sock; }
};

namespace {

bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::string own_cwd() {
  std::vector<char> buf(PATH_MAX);
  return ::getcwd(buf.data(), buf.size()) != nullptr ? std::string(buf.data()) : std::string("/");
}

// The first message of a fork server, or of an exchange: one datagram,
// parking until it comes, deadline or close.
std::string receive(detail::netfd* sock, const char* what) {
  detail::fd_op op(sock, what, &sock->read_mu);
  char buf[1024];
  for (;;) {
    op.check_deadline(detail::poll_mode::read);
    ssize_t n = ::recv(sock->sysfd, buf, sizeof buf, MSG_DONTWAIT);
    if (n >= 0) return std::string(buf, static_cast<std::size_t>(n));  // 0: it closed its end
    if (errno == EINTR) continue;
    if (errno != EAGAIN) op.fail(errno);
    op.wait(detail::poll_mode::read);
  }
}

// Sends bytes with the descriptor log, and conn after it unless it is -1;
// returns 0 or the errno.
int send_with_fds(detail::netfd* sock, const std::string& bytes, int log, int conn) {
  detail::fd_op op(sock, "fork server request", &sock->write_mu);
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  const int fds[2] = {log, conn};
  const std::size_t n = conn >= 0 ? 2 : 1;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(n * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds, n * sizeof(int));
  for (;;) {
    if (::sendmsg(sock->sysfd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return errno;
    op.wait(detail::poll_mode::write);
  }
}

// WEFT_WORKER's value in spec's environment (ID.TOKEN), "" if none.
std::string worker_ticket_of(const child_spec& spec) {
  for (const std::string& e : spec.env)
    if (starts(e, "WEFT_WORKER=")) return e.substr(12);
  return "";
}

}  // namespace

fork_servers::fork_servers(limits l, bool enabled, std::string log_dir, std::function<void(std::string_view)> log,
                           worker_server serve_worker)
    : limits_(l),
      enabled_(enabled),
      log_dir_(std::move(log_dir)),
      log_(std::move(log)),
      serve_worker_(std::move(serve_worker)),
      cwd_(own_cwd()) {}

fork_servers::~fork_servers() { stop(); }

std::string fork_servers::key_of(const child_spec& spec) {
  struct stat st {};
  if (::stat(spec.binary.c_str(), &st) != 0) return "";
  // A rebuilt binary is another key: its fork server would run old code.
  std::string key = spec.binary + '\0' + std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' +
                    std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
                    std::to_string(st.st_mtim.tv_nsec) + '\0';
  for (const std::string& a : spec.argv) key += a + '\0';
  key += '\0';
  for (const std::string& e : spec.env)
    if (!starts(e, "WEFT_WORKER=")) key += e + '\0';
  return key;
}

std::unique_ptr<child> fork_servers::start(const child_spec& spec) {
  if (!enabled_ || spec.pass_fd >= 0) return std::make_unique<child>(spec);
  for (const std::string& e : spec.env)
    if (e == "WEFT_FORK_SERVER=0") return std::make_unique<child>(spec);  // the caller's own opt-out
  const std::string key = key_of(spec);
  if (key.empty()) return std::make_unique<child>(spec);
  std::shared_ptr<server> use;
  std::vector<std::shared_ptr<server>> evicted;
  {
    detail::lock_scope lk(mu_);
    if (stopping_) return std::make_unique<child>(spec);
    const clock::time_point now = clock::now();
    auto it = servers_.find(key);
    if (it != servers_.end()) {
      it->second->last_used = now;
      if (it->second->ready) use = it->second;
    } else {
      auto r = refused_.find(key);
      if (r == refused_.end() || now - r->second > limits_.retry_after_refusal) {
        refused_.erase(key);
        const std::string file = key.substr(0, key.find('\0', key.find('\0') + 1));
        // A fork server of this path's older build makes old code: it goes.
        for (auto i = servers_.begin(); i != servers_.end();) {
          if (i->second->binary == spec.binary && i->second->file != file) {
            evicted.push_back(i->second);
            i = servers_.erase(i);
          } else {
            ++i;
          }
        }
        // The least recently used go first.
        while (servers_.size() >= limits_.max_servers) {
          auto oldest = servers_.begin();
          for (auto i = servers_.begin(); i != servers_.end(); ++i)
            if (i->second->last_used < oldest->second->last_used) oldest = i;
          evicted.push_back(oldest->second);
          servers_.erase(oldest);
        }
        auto s = std::make_shared<server>();
        s->key = key;
        s->binary = spec.binary;
        s->file = file;
        s->last_used = now;
        servers_.emplace(key, s);
        tasks_.add(1);
        weft::go(weft::go_options{.name = "weftd fork server " + spec.binary}, [this, s, spec] { boot(s, spec); });
      }
    }
  }
  for (const std::shared_ptr<server>& s : evicted) s->end(false);
  if (use) {
    std::unique_ptr<child> c = fork_from(use, spec);
    if (c) return c;
  }
  return std::make_unique<child>(spec);
}

void fork_servers::boot(std::shared_ptr<server> s, child_spec spec) {
  struct done_at_end {
    weft::wait_group& wg;
    ~done_at_end() { wg.done(); }
  } guard{tasks_};
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    drop(s, std::string("socketpair: ") + std::strerror(errno));
    return;
  }
  // Requests are single datagrams: room for the largest (an environment).
  int size = static_cast<int>(wire::max_fork_request) + 4096;
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (sv[1] == 3) {  // dup2(3, 3) would leave FD_CLOEXEC set
    int moved = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
    ::close(sv[1]);
    sv[1] = moved;
  }
  child_spec own = spec;
  own.env.clear();
  for (const std::string& e : spec.env)
    if (!starts(e, "WEFT_WORKER=") && !starts(e, "WEFT_FORK_SERVER=") && !starts(e, "WEFT_FORK_SPARE="))
      own.env.push_back(e);
  own.env.push_back("WEFT_FORK_SERVER=3");
  if (limits_.spares) own.env.push_back("WEFT_FORK_SPARE=1");
  // Every symbol bound once, here, rather than at each worker's first
  // calls (each a copy-on-write fault of a GOT page, and a symbol search).
  own.env.push_back("LD_BIND_NOW=1");
  own.cwd = "/";  // its workers go where they are asked; it holds no directory
  own.output = log_dir_.empty()
                   ? ""
                   : log_dir_ + "/fork-server-" + std::to_string(std::hash<std::string>()(s->key) & 0xffffff) + ".log";
  own.pass_fd = sv[1];
  std::unique_ptr<child> proc;
  detail::netfd* sock = nullptr;
  try {
    ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
    sock = detail::netfd_new(sv[0], "unix");  // closes sv[0] if it throws
    sv[0] = -1;
    proc = std::make_unique<child>(own);
  } catch (const std::exception& e) {
    if (sv[0] >= 0) ::close(sv[0]);
    if (sv[1] >= 0) ::close(sv[1]);
    detail::netfd_destroy(sock);
    drop(s, std::string("cannot start it: ") + e.what());
    return;
  }
  ::close(sv[1]);
  child* p = proc.get();
  const long pid = p->pid();
  {
    detail::lock_scope lk(s->state_mu);
    s->sock = sock;
    s->proc = std::move(proc);
    if (s->shut) {  // stop() or an eviction came first
      detail::netfd_close(sock);
      p->signal(SIGKILL);
    }
  }
  std::string first;
  try {
    detail::netfd_set_deadline(sock, "fork server", true, false, clock::now() + limits_.ready_timeout);
    first = receive(sock, "fork server start");
    detail::netfd_set_deadline(sock, "fork server", true, false, clock::time_point::max());
  } catch (const std::exception& e) {
    first = std::string("no answer: ") + e.what();
  }
  const std::optional<long> ready = wire::decode_fork_ready(first);
  if (ready) {
    {
      detail::lock_scope lk(s->state_mu);
      s->spare = std::max(*ready, 0L);
    }
    s->ready = true;
    log_("fork server for " + spec.binary + " ready (pid " + std::to_string(pid) + ")");
  } else {
    {  // not tried again for a while: a binary that cannot serve forks would fail each time
      detail::lock_scope lk(mu_);
      const clock::time_point now = clock::now();
      // Bounded: a refusal older than the retry period no longer stops a
      // try, so it goes (a weftd spawning ever new binaries keeps only the
      // last period's refusals).
      std::erase_if(refused_, [&](const auto& r) { return now - r.second > limits_.retry_after_refusal; });
      refused_[s->key] = now;
    }
    drop(s, first.empty() ? std::string("it ended before it was ready") : first);
    s->end(true);
  }
  int status = 0;
  try {
    status = p->wait();
  } catch (const std::exception&) {
    return;  // abandoned: weftd stops
  }
  drop(s, "it " + child::describe(status));
  // Its last spare (K5): once no answer can still name another (an
  // exchange in flight ends first: its socket is closed now).
  long spare = 0;
  {
    detail::lock_scope ex(s->exchange);
    detail::lock_scope lk(s->state_mu);
    spare = std::exchange(s->spare, 0);
  }
  if (spare > 0) reap_spare(spare, true);
  // Its log says something only while it runs (a library's complaint at
  // load): once it is gone, nothing reads it.
  if (!own.output.empty()) std::remove(own.output.c_str());
}

std::unique_ptr<child> fork_servers::fork_from(const std::shared_ptr<server>& sp, const child_spec& spec) {
  server& s = *sp;
  wire::fork_request req;
  req.cwd = spec.cwd.empty() ? cwd_ : spec.cwd;
  req.env = spec.env;
  const std::string bytes = wire::encode_fork_request(req);
  if (bytes.empty()) return nullptr;  // over its size: started from the binary
  const std::string out = spec.output.empty() ? std::string("/dev/null") : spec.output;
  const int log = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) return nullptr;  // the binary's start says why
  // The worker's connection, made here (the header's step 2): without
  // one (no way to serve it, or no socketpair) it dials as a started one.
  const std::string ticket = worker_ticket_of(spec);
  int pair[2] = {-1, -1};
  if (serve_worker_ && s.takes_connection && !ticket.empty() &&
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    pair[0] = pair[1] = -1;
  struct close_ours {
    int* fd;
    ~close_ours() {
      if (*fd >= 0) ::close(*fd);
    }
  } weftd_end{&pair[0]};
  detail::lock_scope lk(s.exchange);
  detail::netfd* sock;
  {
    detail::lock_scope st(s.state_mu);
    sock = s.shut ? nullptr : s.sock;
  }
  int err = sock == nullptr ? EPIPE : 0;
  try {
    if (err == 0) err = send_with_fds(sock, bytes, log, pair[1]);
  } catch (const std::exception&) {
    err = EPIPE;  // closed meanwhile
  }
  ::close(log);
  if (pair[1] >= 0) ::close(pair[1]);  // the worker's end: the fork server has its copy
  if (err != 0) {  // not asked: nothing was made (K1)
    if (err != EMSGSIZE) drop(sp, std::string("a request could not be sent: ") + std::strerror(err));
    return nullptr;
  }
  std::string answer;
  try {
    detail::netfd_set_deadline(sock, "fork server", true, false, clock::now() + limits_.answer_timeout);
    answer = receive(sock, "fork server answer");
    detail::netfd_set_deadline(sock, "fork server", true, false, clock::time_point::max());
  } catch (const std::exception& e) {
    answer = e.what();
  }
  std::optional<wire::fork_answer> a = wire::decode_fork_answer(answer);
  if (!a) {
    // Asked, and no answer: it may have made (or still make) a process
    // with this worker's ticket, so the spawn fails rather than starts a
    // second one (K1).
    const std::string what = answer.empty() ? std::string("it ended while asked for a fork")
                                            : "no answer to a fork (" + answer.substr(0, 200) + "): stopped it";
    drop(sp, what);
    s.end(true);
    throw std::system_error(answer.empty() ? EPIPE : ETIMEDOUT, std::generic_category(),
                            "cannot start " + spec.binary + ": its fork server: " + what + "; spawn again");
  }
  if (a->pid <= 0)
    throw std::system_error(a->error, std::generic_category(), "cannot start " + spec.binary + ": " + a->why);
  std::unique_ptr<child> c = child::adopt(static_cast<pid_t>(a->pid), spec.binary);
  if (a->spare >= 0) {  // K5: the spare named before is this worker, or died unused
    long gone = 0;
    {
      detail::lock_scope st(s.state_mu);
      if (s.spare > 0 && s.spare != a->pid && s.spare != a->spare) gone = s.spare;
      s.spare = a->spare;
    }
    if (gone > 0) reap_spare(gone, false);
  }
  if (pair[0] >= 0 && !a->took_connection && s.takes_connection.exchange(false))
    log_("fork server for " + spec.binary + " takes no connections (built before they were sent): its workers dial");
  if (pair[0] >= 0 && a->took_connection) {
    const int fd = std::exchange(pair[0], -1);
    try {
      serve_worker_(detail::adopt_socket(fd, "worker " + ticket.substr(0, ticket.find('.')) + " (forked)"), ticket);
    } catch (const std::exception& e) {
      // Its end reads end of stream: the worker dies at its attach, and
      // weftd reaps it as any worker that failed to start.
      log_(std::string("cannot serve a forked worker's connection: ") + e.what());
    }
  }
  detail::lock_scope t(mu_);
  ++forked_;
  return c;
}

void fork_servers::reap_spare(long pid, bool kill) {
  std::unique_ptr<child> c;
  try {
    c = child::adopt(static_cast<pid_t>(pid), "a fork server's spare");
  } catch (const std::exception& e) {
    log_(std::string("cannot reap a fork server's spare: ") + e.what());
    return;
  }
  if (kill) c->signal(SIGKILL);
  tasks_.add(1);
  weft::go(weft::go_options{.name = "weftd spare reaper"}, [this, c = std::shared_ptr<child>(std::move(c))] {
    struct done_at_end {
      weft::wait_group& wg;
      ~done_at_end() { wg.done(); }
    } guard{tasks_};
    try {
      c->wait();
    } catch (const std::exception&) {}
  });
}

void fork_servers::drop(const std::shared_ptr<server>& s, std::string_view why) {
  bool listed = false;
  {
    detail::lock_scope lk(mu_);
    auto it = servers_.find(s->key);
    if (it != servers_.end() && it->second == s) {
      servers_.erase(it);
      listed = true;
    }
  }
  s->end(false);
  if (listed) log_("fork server for " + s->binary + " gone: " + std::string(why));
}

void fork_servers::stop() {
  std::vector<std::shared_ptr<server>> all;
  {
    detail::lock_scope lk(mu_);
    stopping_ = true;
    for (auto& [key, s] : servers_) all.push_back(s);
    servers_.clear();
  }
  // K3: each exits when its socket closes; SIGKILL for one that is stopped.
  for (const std::shared_ptr<server>& s : all) s->end(true);
  tasks_.wait();
}

std::size_t fork_servers::ready() {
  detail::lock_scope lk(mu_);
  std::size_t n = 0;
  for (auto& [key, s] : servers_) n += s->ready ? 1 : 0;
  return n;
}

std::uint64_t fork_servers::forked() {
  detail::lock_scope lk(mu_);
  return forked_;
}

}  // namespace weft::server
