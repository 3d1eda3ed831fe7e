// src/server/child.cpp: starting and reaping a worker process (child.hpp).
#include "server/child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "net/netfd.hpp"

namespace weft::server {

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig, siginfo_t* info = nullptr) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, info, 0));
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

child::child(const child_spec& spec) {
  std::vector<std::string> argv = spec.argv, env = spec.env;
  if (argv.empty()) argv.push_back(spec.binary);
  std::vector<char*> args = c_strings(argv), envp = c_strings(env);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (spec.output.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, spec.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  if (spec.pass_fd >= 0) posix_spawn_file_actions_adddup2(&fa, spec.pass_fd, 3);  // clears its FD_CLOEXEC
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  // A session of its own: the terminal weftd may run in, and its signals,
  // are not the worker's. Signals weftd blocks (SIGTERM, SIGINT: it takes
  // them with sigwait) are unblocked for the worker.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  int err = ::posix_spawn(&pid_, spec.binary.c_str(), &fa, &at, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (err != 0) throw std::system_error(err, std::generic_category(), "cannot start " + spec.binary);
  watch(spec.binary);
}

std::unique_ptr<child> child::adopt(pid_t pid, const std::string& what) {
  std::unique_ptr<child> c(new child());
  c->pid_ = pid;
  c->watch(what);
  return c;
}

void child::watch(const std::string& what) {
  // The process is this one's child and not reaped yet: its pid cannot
  // have been reused.
  pidfd_ = pidfd_open(pid_);
  if (pidfd_ < 0) {
    int e = errno;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    throw std::system_error(e, std::generic_category(), "pidfd_open for " + what);
  }
  ::fcntl(pidfd_, F_SETFL, O_NONBLOCK);
  ::fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
  fd_ = detail::netfd_new(pidfd_, "pidfd");  // closes pidfd_ if it throws
}

child::~child() {
  if (!reaped_) {
    // Not waited for (a server that stops): reap it if it has ended, and
    // leave it running otherwise; it ends when it loses its server.
    ::waitpid(pid_, nullptr, WNOHANG);
  }
  detail::netfd_destroy(fd_);
}

int child::wait() {
  while (!reaped_) {
    siginfo_t si{};
    if (::waitid(P_PIDFD, static_cast<id_t>(fd_->sysfd), &si, WEXITED | WNOHANG) != 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "waitid");
    }
    if (si.si_pid != 0) {
      reaped_.store(true);
      status_ = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
      signalled_ = si.si_code != CLD_EXITED;
      break;
    }
    detail::fd_op op(fd_, "wait for a child", &fd_->read_mu);
    op.wait(detail::poll_mode::read);
  }
  return status_;
}

bool child::signal(int sig) noexcept {
  if (reaped_) return false;
  return pidfd_send_signal(fd_->sysfd, sig) == 0;
}

bool child::terminate(int grace_ms) noexcept {
  if (reaped_) return false;
  // As sigqueue(3) fills it: the kernel accepts SI_QUEUE from another
  // process and passes si_value through.
  siginfo_t info{};
  info.si_signo = SIGTERM;
  info.si_code = SI_QUEUE;
  info.si_pid = ::getpid();
  info.si_uid = ::getuid();
  info.si_value.sival_int = grace_ms;
  return pidfd_send_signal(fd_->sysfd, SIGTERM, &info) == 0;
}

void child::abandon() noexcept { detail::netfd_close(fd_); }

std::string child::describe(int status) {
  if (status > 128 && status < 128 + 65) {
    const char* name = sigabbrev_np(status - 128);
    return std::string("killed by SIG") + (name ? name : std::to_string(status - 128));
  }
  return "exited with status " + std::to_string(status);
}

}  // namespace weft::server
