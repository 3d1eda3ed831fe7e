// tools/weft/remote_cmd.cpp: `weft remote [--trace FILE] PROGRAM ARGS...`
// (DESIGN.md: the passthrough server).
//
// It starts a weftd of its own on a private Unix socket, waits until the
// socket answers, runs the program with WEFT_RUNTIME naming it, waits for
// the program, stops the weftd, and returns the program's status. The
// program's stdin, stdout and stderr are its own (inherited). Signals sent
// to weft itself with kill(1) are passed on to the program; signals from the
// terminal reach the program directly (it is in the same process group),
// so weft does not pass those on a second time.
#include "remote_cmd.hpp"

#include "wire/weftd_binary.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace weft::tool {

namespace {

constexpr int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

std::string private_socket() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  std::string dir = xdg && *xdg ? std::string(xdg) + "/weft" : "/tmp/weft-" + std::to_string(::getuid());
  ::mkdir(dir.c_str(), 0700);
  return dir + "/remote-" + std::to_string(::getpid()) + ".sock";
}

bool answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Spawns argv with `extra` added to the environment and the signal mask
// and dispositions of a fresh process. Returns the pid, or -errno.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store(extra);
  for (char** e = environ; *e; ++e) {
    bool replaced = false;
    for (const std::string& x : extra)
      if (std::strncmp(*e, x.c_str(), x.find('=') + 1) == 0) replaced = true;
    if (!replaced) env_store.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigemptyset(&all);
  for (int s : forwarded) sigaddset(&all, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  return err == 0 ? pid : -err;
}

int status_of(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

int wait_for(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  return st;
}

}  // namespace

int run_remote(const remote_args& a) {
  // Signals for the program are taken by a thread of ours (sigwait), not by
  // their default actions: block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  for (int s : forwarded) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::string sock = private_socket();
  std::string weftd = wire::find_weftd(a.weftd);
  std::vector<std::string> server_argv{weftd, "--quiet", "--listen", "unix:" + sock};
  if (!a.trace_file.empty()) {
    server_argv.push_back("--trace");
    server_argv.push_back(a.trace_file);
  }
  // The passthrough is a private Unix socket of this user: plain, even
  // when WEFT_TLS=1 asks every other connection for TLS (a weftd with
  // --tls would need a key nobody gave it).
  pid_t server = spawn(server_argv, {"WEFT_TLS=0"});
  if (server < 0) {
    std::fprintf(stderr, "weft remote: cannot start %s: %s (pass --weftd PATH)\n", weftd.c_str(),
                 std::strerror(-server));
    return 2;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!answers(sock)) {
    int st;
    if (::waitpid(server, &st, WNOHANG) == server) {
      std::fprintf(stderr, "weft remote: %s exited before it listened (status %d)\n", weftd.c_str(), status_of(st));
      return 2;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(server, SIGKILL);
      wait_for(server);
      std::fprintf(stderr, "weft remote: %s did not listen on %s within 5 s\n", weftd.c_str(), sock.c_str());
      return 2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  pid_t prog = spawn(a.argv, {"WEFT_RUNTIME=unix:" + sock, "WEFT_TLS=0"});
  if (prog < 0) {
    std::fprintf(stderr, "weft remote: cannot run %s: %s\n", a.argv[0].c_str(), std::strerror(-prog));
    ::kill(server, SIGTERM);
    wait_for(server);
    return 127;
  }
  std::atomic<bool> done{false};
  std::thread forwarder([&] {
    for (;;) {
      siginfo_t info;
      int s = sigwaitinfo(&set, &info);
      if (s < 0) continue;
      if (done.load()) return;
      // From the terminal (si_code SI_KERNEL) the program got it already.
      if (info.si_code == SI_USER || info.si_code == SI_QUEUE || info.si_code == SI_TKILL) ::kill(prog, s);
    }
  });
  int st = wait_for(prog);
  done.store(true);
  ::pthread_kill(forwarder.native_handle(), SIGUSR2);  // wakes sigwaitinfo: done is set
  forwarder.join();

  ::kill(server, SIGTERM);
  int sst = wait_for(server);
  if (status_of(sst) != 0)
    std::fprintf(stderr, "weft remote: the runtime server ended with status %d\n", status_of(sst));
  ::unlink(sock.c_str());
  return status_of(st);
}

}  // namespace weft::tool
