// tests/child_process.hpp: real processes for tests (weftd, etcd, the
// weft command): starting them, waiting for them, and what they need (free
// loopback ports, temporary directories). weftd_fixture.hpp and the etcd
// suite stand on it.
#pragma once

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace weft_test {

// argv and this process's environment with env_extra first, as the
// null-terminated arrays exec wants (built before a fork: no allocation in
// the child).
struct exec_arrays {
  std::vector<std::string> env;
  std::vector<char*> args, envp;
  exec_arrays(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra) : env(env_extra) {
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

// Spawns argv with extra environment entries (and file actions, if given);
// returns the pid, or -1.
inline pid_t spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra = {},
                           const posix_spawn_file_actions_t* fa = nullptr) {
  exec_arrays x(argv, env_extra);
  pid_t pid = -1;
  if (posix_spawn(&pid, x.args[0], fa, nullptr, x.args.data(), x.envp.data()) != 0) return -1;
  return pid;
}

// The thread spawn_tied forks from. PR_SET_PDEATHSIG fires when the
// thread that forked ends, not the process: a server forked from a weft M
// (a goroutine restarting etcd) would die with that M. This thread is
// started once and never ends, so the signal comes only with the process.
class tied_spawner {
 public:
  static pid_t run(const std::function<pid_t()>& fork_child) {
    static tied_spawner* const s = new tied_spawner;  // never destroyed: its thread outlives every test
    std::lock_guard<std::mutex> one(s->call_mu_);
    std::unique_lock<std::mutex> lk(s->mu_);
    s->job_ = &fork_child;
    s->cv_.notify_all();
    s->cv_.wait(lk, [&] { return s->job_ == nullptr; });
    return s->result_;
  }

 private:
  tied_spawner() {
    std::thread([this] {
      std::unique_lock<std::mutex> lk(mu_);
      for (;;) {
        cv_.wait(lk, [&] { return job_ != nullptr; });
        result_ = (*job_)();
        job_ = nullptr;
        cv_.notify_all();
      }
    }).detach();
  }
  std::mutex call_mu_;  // one call at a time
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<pid_t()>* job_ = nullptr;
  pid_t result_ = -1;
};

// spawn_process for a server a test leans on (weftd, etcd), its stdout and
// stderr going to `log` (appended to, or truncated first): the child is
// SIGKILLed by the kernel when this process ends (PR_SET_PDEATHSIG), so a
// test that dies (a panic, an abort, ctest's timeout) leaves no server
// behind. Callable from any thread or goroutine. Returns the pid, or -1.
enum class log_mode { truncate, append };
// The same with stdout and stderr apart (err_log "" : with stdout).
inline pid_t spawn_tied(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra,
                        const std::string& log, log_mode mode, const std::string& err_log) {
  exec_arrays x(argv, env_extra);
  const int flags = O_WRONLY | O_CREAT | (mode == log_mode::append ? O_APPEND : O_TRUNC);
  return tied_spawner::run([&]() -> pid_t {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    // The child: async-signal-safe calls only, then exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died already
    const int fd = ::open(log.c_str(), flags, 0600);
    if (fd < 0) ::_exit(127);
    const int efd = err_log.empty() ? fd : ::open(err_log.c_str(), flags, 0600);
    if (efd < 0) ::_exit(127);
    ::dup2(fd, 1);
    ::dup2(efd, 2);
    if (fd > 2) ::close(fd);
    if (efd > 2 && efd != fd) ::close(efd);
    ::execve(x.args[0], x.args.data(), x.envp.data());
    ::_exit(127);
  });
}
inline pid_t spawn_tied(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra,
                        const std::string& log, log_mode mode = log_mode::truncate) {
  return spawn_tied(argv, env_extra, log, mode, "");
}

// Waits up to `limit` for pid; returns its wait status, or -1 on timeout.
inline int wait_status(pid_t pid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  int st = 0;
  while (std::chrono::steady_clock::now() < end) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

// A child process with its stdout and stderr captured in files; SIGKILLed
// by the destructor if still running, and by the kernel if the test dies
// first (spawn_tied: a test that ctest's timeout ends, or one killed while
// its child is SIGSTOPped, leaves none behind).
class command {
 public:
  explicit command(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra = {}) {
    static std::atomic<int> n{0};
    base_ = "/tmp/weft-test-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    pid_ = spawn_tied(argv, env_extra, base_ + ".out", log_mode::truncate, base_ + ".err");
  }
  command(const command&) = delete;
  command& operator=(const command&) = delete;
  ~command() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink((base_ + ".out").c_str());
    ::unlink((base_ + ".err").c_str());
  }
  // Its exit status (128 + N for signal N) within limit; -1 if it runs on.
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    if (status_ >= 0 || pid_ <= 0) return status_;
    int st = wait_status(pid_, limit);
    if (st == -1) return -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  std::string out() const { return slurp(base_ + ".out"); }
  std::string err() const { return slurp(base_ + ".err"); }
  pid_t pid() const { return pid_; }

 private:
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string base_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's
// pick; another process may take it before the caller binds it, which on a
// test machine does not happen in practice). 0 if none could be had.
inline int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// A fresh directory under base (default $TMPDIR, or /tmp), removed with
// everything in it by the destructor.
class temp_dir {
 public:
  explicit temp_dir(const std::string& stem = "weft-test", const std::string& base = "") {
    std::filesystem::path under = base.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(base);
    std::string tmpl = (under / (stem + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  // Empty if mkdtemp failed.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace weft_test
