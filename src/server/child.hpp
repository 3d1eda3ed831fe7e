// src/server/child.hpp: a process weftd starts (a circuit worker), and
// waiting for its end without a thread.
//
// The child is watched through a pidfd (pidfd_open, Linux 5.3): it is
// readable once the process has exited, so the netpoller wakes the one
// goroutine that waits, as for a socket; no thread blocks in waitpid and
// no SIGCHLD handler is needed. Signals go through the pidfd too
// (pidfd_send_signal), so a kill can never reach another process that
// reused the pid after the child was reaped.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace weft::detail {
struct netfd;
}

namespace weft::server {

struct child_spec {
  std::string binary;  // the executable's path
  std::vector<std::string> argv;  // argv[0] first
  std::vector<std::string> env;  // NAME=VALUE, the whole environment
  std::string cwd;  // "" : weftd's own
  std::string output;  // stdout and stderr go to this file (made 0600); "" : /dev/null
  int pass_fd = -1;  // >= 0: this descriptor of weftd's becomes the child's fd 3
};

class child {
 public:
  // Starts the process in a session of its own, stdin /dev/null. Throws
  // std::system_error naming the binary (not found, not executable, a
  // cwd that does not exist).
  explicit child(const child_spec& spec);
  // A process another made as weftd's own child (a fork server's worker,
  // fork_server.hpp), watched from now on. Throws std::system_error if it
  // cannot be (then it is SIGKILLed and reaped).
  static std::unique_ptr<child> adopt(pid_t pid, const std::string& what);
  ~child();
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // Parks until the process has exited and reaps it; returns its status:
  // the exit code, or 128 + N for signal N. Returns at once afterwards.
  // Throws std::system_error if the child was abandoned meanwhile.
  int wait();
  // Sends sig; false if the process has already been reaped.
  bool signal(int sig) noexcept;
  // Sends SIGTERM with sigqueue's value grace_ms: a weft program's
  // shutdown hooks (weft/shutdown.hpp) learn the killer's deadline from
  // it. False if the process has already been reaped.
  bool terminate(int grace_ms) noexcept;
  // After wait(): whether a signal ended it (a status of 143 is then
  // SIGTERM's default action, else the program's own exit(143)).
  bool signalled() const noexcept { return signalled_; }
  // Wakes a wait() in progress (it throws); for a server that stops.
  void abandon() noexcept;

  // "exited with status 3", "killed by SIGKILL".
  static std::string describe(int status);

 private:
  child() = default;
  // Opens the pidfd and registers it with the netpoller.
  void watch(const std::string& what);

  pid_t pid_ = -1;
  int pidfd_ = -1;  // owned by fd_ once registered
  detail::netfd* fd_ = nullptr;
  std::atomic<bool> reaped_{false};  // wait() reaped it; signal() reads it from other goroutines
  int status_ = 0;  // set by wait(), read by wait() only
  bool signalled_ = false;  // set by wait()
};

}  // namespace weft::server
