// src/circuit/daemon.cpp: finding or starting the local weftd (daemon.hpp).
#include "circuit/daemon.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <weft/errors.hpp>
#include <weft/mutex.hpp>
#include <weft/go.hpp>

#include "circuit/identity.hpp"
#include "remote/attach.hpp"
#include "wire/endpoint.hpp"
#include "wire/weftd_binary.hpp"

extern char** environ;

namespace weft::circuit::detail {

namespace {

using namespace std::chrono_literals;

constexpr auto start_limit = 3s;

bool answers(const wire::endpoint& e) {
  try {
    wire::dial(e, 200ms).close();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// Starts weftd on e in a session of its own; it is not our child for long:
// it is reaped here (it daemonizes by setsid, and outlives this program).
void start_weftd(const wire::endpoint& e) {
  std::string bin = wire::find_weftd();
  std::string log = runtime_dir() + "/weftd.log";
  std::vector<std::string> argv = {bin, "--listen", e.text()};
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
  // WEFT_RUNTIME and WEFT_WORKER are this program's, not the daemon's.
  std::vector<char*> envp;
  for (char** p = environ; *p; ++p) {
    std::string_view v(*p);
    if (v.starts_with("WEFT_RUNTIME=") || v.starts_with("WEFT_WORKER=")) continue;
    envp.push_back(*p);
  }
  envp.push_back(nullptr);
  pid_t pid = -1;
  int err = ::posix_spawnp(&pid, bin.c_str(), &fa, &at, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (err != 0)
    throw remote_error(remote_errc::unreachable, "no weftd answers at " + e.text() +
                                                     ", and starting one failed: " + bin + ": " + std::strerror(err) +
                                                     " (set WEFT_WEFTD to weftd's path, or start weftd yourself)");
  // Reap it if it exits at once (another weftd won the socket, or it
  // failed: its log says why); a weftd that runs stays unreaped until this
  // program ends, which costs one zombie-to-be and nothing else.
  auto end = std::chrono::steady_clock::now() + start_limit;
  while (!answers(e)) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      if (answers(e)) return;  // another program's weftd won the socket
      throw remote_error(remote_errc::unreachable,
                         "no weftd answers at " + e.text() + ", and " + bin + " exited at once: see " + log);
    }
    if (std::chrono::steady_clock::now() > end)
      throw remote_error(remote_errc::unreachable, "no weftd answers at " + e.text() + ", and the one started (" + bin +
                                                       ") did not answer within 3 s: see " + log);
    weft::this_goroutine::sleep_for(5ms);
  }
}

weft::mutex starting;

}  // namespace

remote::detail::stub& circuit_stub() {
  remote::detail::stub* s = remote::detail::current();
  if (s == nullptr) {
    std::lock_guard lk(starting);
    s = remote::detail::current();
    if (s == nullptr) {
      wire::endpoint e = wire::default_endpoint();
      runtime_dir();  // the socket's directory, 0700
      if (!answers(e)) start_weftd(e);
      s = &remote::detail::attach_late(e);
    }
  }
  if (!s->has_capability("circuit"))
    throw remote_error(remote_errc::refused, "runtime server " + s->address() +
                                                 " does not offer the circuit (spawn and workers): it is not a "
                                                 "weftd, or an older one");
  return *s;
}

}  // namespace weft::circuit::detail
