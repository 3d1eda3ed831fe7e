// src/platform/signals.cpp: sigaction, sigaltstack and the signal pipe.
#include "platform/signals.hpp"

#include <fcntl.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "platform/checked.hpp"
#include "platform/memory.hpp"

namespace weft::detail::os {

int sig_handle_fault(int sig, fault_handler h, struct sigaction* old) noexcept {
  struct sigaction sa {};
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  return checked([&] { return ::sigaction(sig, &sa, old); });
}

int sig_handle(int sig, void (*h)(int)) noexcept {
  struct sigaction sa {};
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return checked([&] { return ::sigaction(sig, &sa, nullptr); });
}

int sig_handle_info(int sig, fault_handler h, struct sigaction* old) noexcept {
  struct sigaction sa {};
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return checked([&] { return ::sigaction(sig, &sa, old); });
}

void sig_forward(int sig, siginfo_t* info, void* ucontext, const struct sigaction& old) noexcept {
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction) {
      old.sa_sigaction(sig, info, ucontext);
      return;
    }
  } else if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
    old.sa_handler(sig);
    return;
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

int altstack_install(std::size_t bytes) noexcept {
  int err = 0;
  void* alt = mem_map(bytes, false, &err);
  if (alt == nullptr) return -err;
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = bytes;
  int r = checked([&] { return ::sigaltstack(&ss, nullptr); });
  if (r < 0) mem_unmap(alt, bytes);
  return r;
}

void altstack_remove() noexcept {
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  stack_t old{};
  int r = checked([&] { return ::sigaltstack(&ss, &old); });
  if (r == 0 && old.ss_sp && !(old.ss_flags & SS_DISABLE)) mem_unmap(old.ss_sp, old.ss_size);
}

void* ucontext_stack_pointer(void* ucontext) noexcept {
#if defined(__x86_64__)
  auto sp = static_cast<ucontext_t*>(ucontext)->uc_mcontext.gregs[REG_RSP];
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(sp));
#else
  (void)ucontext;
  return nullptr;
#endif
}

int signal_pipe_nonblocking(int fds[2]) noexcept {
  return checked([&] { return ::pipe2(fds, O_CLOEXEC | O_NONBLOCK); });
}

void signal_drain(int read_fd) noexcept {
  char buf[64];
  for (;;) {
    ssize_t n = ::read(read_fd, buf, sizeof buf);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    return;
  }
}

void die_by_signal(int sig) noexcept {
  ::signal(sig, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
  ::raise(sig);
  ::_exit(128 + sig);
}

bool sig_queued_value(const siginfo_t* info, int* value) noexcept {
  if (info == nullptr || info->si_code != SI_QUEUE) return false;
  *value = info->si_value.sival_int;
  return true;
}

void thread_sigmask_get(sigset_t* out) noexcept { ::pthread_sigmask(SIG_BLOCK, nullptr, out); }

void thread_sigmask_set(const sigset_t& mask) noexcept { ::pthread_sigmask(SIG_SETMASK, &mask, nullptr); }

void block_async_signals() noexcept { block_async_signals(nullptr); }

void block_async_signals(sigset_t* old) noexcept {
  static const sigset_t async = [] {
    sigset_t s;
    sigfillset(&s);
    for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&s, sync);
    return s;
  }();
  ::pthread_sigmask(SIG_BLOCK, &async, old);
}

void touch_signal_state() noexcept {
  int saved = errno;
  ::kill(::getpid(), 0);
  errno = saved;
}

void signal_notify(int write_fd) noexcept {
  int saved = errno;
  char b = 'q';
  while (::write(write_fd, &b, 1) < 0 && errno == EINTR) {}
  errno = saved;
}

}  // namespace weft::detail::os
