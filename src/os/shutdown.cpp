// src/os/shutdown.cpp: weft::on_shutdown, a graceful end on SIGTERM (Go's
// signal.Notify(c, SIGTERM) and a few goroutines, made explicit).
//
// The pieces:
//   - The handler (on_term) does no work: it notes the signal (and the
//     killer's deadline, which weftd sends as sigqueue's value) and writes
//     a byte to a self-pipe. Running hooks from a handler would take locks
//     and allocate in whatever state the interrupted thread left them.
//   - The watcher: one goroutine per run, started by the run's first
//     on_shutdown, parked on the pipe's read end in the netpoller. Woken
//     by the first SIGTERM, it starts each hook in its own goroutine (a
//     hook may block on channels and locks), waits for them all or the
//     deadline, and ends the process.
//   - The exit says how it went, to whoever waits for the process: every
//     hook returned: exit(128 + SIGTERM) with stdio flushed; the deadline
//     passed or a second SIGTERM came: killed by SIGTERM's default action.
//     Both read 143 in a shell; waitid (weftd) tells the two apart.
// Invariants:
//   S1 SIGTERM kills the process as by default unless a watcher of the
//      running run waits for it (armed_epoch == sched.epoch and the runtime
//      runs): a program that registered no hook, or between runs, is
//      unchanged.
//   S2 Each registered hook runs at most once, in a goroutine of its own;
//      the phase moves idle -> running -> exiting, under mu, and only
//      forward. A hook registered while running starts at once and is
//      waited for; one registered while exiting never runs.
//   S3 pending (hooks started and not returned) reaches 0 once: the hook
//      that brings it there moves the phase to exiting and closes `done`.
// Rejected: a plain thread for the pipe (as SIGQUIT's): it could not start
// goroutines. Polling a flag from sysmon: a wake-up delay, and sysmon is
// the scheduler's, not a place for user code.
#include <cxxabi.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include <weft/chan.hpp>
#include <weft/errors.hpp>
#include <weft/go.hpp>
#include <weft/run.hpp>
#include <weft/select.hpp>
#include <weft/shutdown.hpp>
#include <weft/timer.hpp>

#include "platform/process.hpp"
#include "platform/signals.hpp"
#include "runtime/netpoll.hpp"
#include "runtime/runtime.hpp"

namespace weft {

namespace {

using namespace std::chrono_literals;

constexpr int exit_status = 128 + SIGTERM;
constexpr int default_grace_ms = 5000;
// A killer that sent its deadline enforces it (weftd: SIGKILL); the
// process's own is later, in case the killer is gone.
constexpr int backstop_ms = 1000;

// Read by the handler: lock-free atomics and fds set before it is armed.
std::atomic<std::uint64_t> armed_epoch{0};
std::atomic<int> terms{0};  // SIGTERMs since the run's watcher started
std::atomic<int> killer_grace_ms{-1};  // sigqueue's value; -1: none
int term_pipe[2] = {-1, -1};

enum class phase { idle, running, exiting };

struct state {
  std::mutex mu;  // held briefly, never across a park
  std::uint64_t epoch = 0;  // the run the rest belongs to
  phase ph = phase::idle;
  std::vector<std::function<void()>> hooks;  // registered, not started (idle)
  int pending = 0;  // started, not returned
  int next_id = 1;
  std::unique_ptr<chan<int>> done;  // closed when pending reaches 0 (S3)
  detail::poll_desc* pd = nullptr;
};

state& st() {
  static state s;
  return s;
}

void say(const std::string& s) { detail::os::write_stderr(s.data(), s.size()); }

std::string type_of(const std::type_info& t) {
  int err = 0;
  char* d = abi::__cxa_demangle(t.name(), nullptr, nullptr, &err);
  std::string out = err == 0 && d != nullptr ? d : t.name();
  std::free(d);
  return out;
}

void on_term(int, siginfo_t* info, void*) {
  if (armed_epoch.load() != detail::sched.epoch.load() || !detail::sched.running.load())
    detail::os::die_by_signal(SIGTERM);  // S1
  int v = 0;
  if (detail::os::sig_queued_value(info, &v) && v > 0) killer_grace_ms.store(v);
  if (terms.fetch_add(1) >= 1) {
    static const char msg[] = "weft: second SIGTERM: exiting without waiting for the shutdown hooks\n";
    detail::os::write_stderr(msg, sizeof msg - 1);
    detail::os::die_by_signal(SIGTERM);
  }
  detail::os::signal_notify(term_pipe[1]);
}

int own_grace_ms() {
  const char* e = std::getenv("WEFT_SHUTDOWN_GRACE_MS");
  if (e == nullptr || *e == '\0') return default_grace_ms;
  char* end = nullptr;
  long v = std::strtol(e, &end, 10);
  if (*end != '\0' || v < 0 || v > 24L * 3600 * 1000) {
    say(std::string("weft: WEFT_SHUTDOWN_GRACE_MS=") + e +
        " is not a number of milliseconds (0 to 86400000): using 5000\n");
    return default_grace_ms;
  }
  return static_cast<int>(v);
}

void hook_returned() {
  state& s = st();
  std::lock_guard lk(s.mu);
  if (--s.pending == 0 && s.ph == phase::running) {
    s.ph = phase::exiting;  // S3
    s.done->close();
  }
}

// REQUIRES: s.mu held, s.ph == running.
void start_hook(state& s, std::function<void()> hook) {
  const int id = s.next_id++;
  ++s.pending;
  weft::go(weft::go_options{.name = "weft shutdown hook " + std::to_string(id)}, [id, h = std::move(hook)] {
    try {
      h();
    } catch (const std::exception& e) {
      say("weft: shutdown hook " + std::to_string(id) + " threw " + type_of(typeid(e)) + ": " + e.what() + "\n");
    } catch (...) {
      say("weft: shutdown hook " + std::to_string(id) + " threw a value that is not a std::exception\n");
    }
    hook_returned();
  });
}

[[noreturn]] void exit_graceful() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  detail::os::exit_now(exit_status);
}

void shut_down() {
  const int killer = killer_grace_ms.load();
  const int grace = killer > 0 ? killer + backstop_ms : own_grace_ms();
  state& s = st();
  chan<int> done;
  {
    std::lock_guard lk(s.mu);
    s.ph = phase::running;
    std::vector<std::function<void()>> hooks = std::move(s.hooks);
    s.hooks.clear();
    for (auto& h : hooks) start_hook(s, std::move(h));
    if (s.pending == 0) exit_graceful();  // S1 says there was one; all may be gone
    done = *s.done;
  }
  bool timed_out = false;
  weft::select(on_recv(done, [] {}), on_recv(weft::after(std::chrono::milliseconds(grace)), [&] { timed_out = true; }));
  if (!timed_out) exit_graceful();
  int left = 0;
  {
    std::lock_guard lk(s.mu);
    s.ph = phase::exiting;
    left = s.pending;
  }
  say("weft: " + std::to_string(left) + " shutdown hook(s) still running " + std::to_string(grace) +
      " ms after SIGTERM (the deadline): exiting without them\n");
  detail::os::die_by_signal(SIGTERM);
}

// The run's watcher: parks until the first SIGTERM, then shuts down. Ends
// (never to run again) when its run ends and the poller closes.
void watch(detail::poll_desc* pd) {
  for (;;) {
    detail::os::signal_drain(term_pipe[0]);
    if (terms.load() > 0) break;
    if (detail::netpoll_wait(pd, detail::poll_mode::read) == detail::poll_result::closing) return;
  }
  shut_down();
}

// REQUIRES: s.mu held. A new run (or the first): the last run's hooks and
// its poller registration are dropped, a watcher starts, SIGTERM is armed.
void arm_for_this_run(state& s, std::uint64_t epoch) {
  static std::once_flag once;
  std::call_once(once, [] {
    if (detail::os::signal_pipe_nonblocking(term_pipe) != 0)
      throw std::runtime_error("weft::on_shutdown: cannot make the signal pipe (out of file descriptors?)");
    struct sigaction old {};
    detail::os::sig_handle_info(SIGTERM, on_term, &old);
  });
  if (s.pd != nullptr) {  // the last run's: its poller is gone (netpoll_shutdown)
    detail::netpoll_evict(s.pd);
    detail::netpoll_close(s.pd);
    s.pd = nullptr;
  }
  s.hooks.clear();
  s.ph = phase::idle;
  s.pending = 0;
  s.done = std::make_unique<chan<int>>();
  s.pd = detail::netpoll_open(term_pipe[0]);
  s.epoch = epoch;
  terms.store(0);
  killer_grace_ms.store(-1);
  detail::os::signal_drain(term_pipe[0]);
  weft::go(weft::go_options{.name = "weft shutdown watcher"}, watch, s.pd);
  armed_epoch.store(epoch);
}

}  // namespace

void on_shutdown(std::function<void()> hook) {
  if (!hook) throw std::invalid_argument("weft::on_shutdown: the hook is empty");
  detail::m* mp = detail::this_m();
  if (mp == nullptr || mp->curg == nullptr)
    throw misuse_error("weft::on_shutdown called outside a goroutine: register shutdown hooks from inside weft::run");
  state& s = st();
  std::lock_guard lk(s.mu);
  const std::uint64_t epoch = detail::sched.epoch.load();
  if (s.epoch != epoch) arm_for_this_run(s, epoch);
  switch (s.ph) {
    case phase::idle: s.hooks.push_back(std::move(hook)); break;
    case phase::running: start_hook(s, std::move(hook)); break;  // S2
    case phase::exiting: break;  // the process is ending: too late (S2)
  }
}

}  // namespace weft
