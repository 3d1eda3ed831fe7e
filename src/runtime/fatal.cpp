// src/runtime/fatal.cpp: the one way out.
//
// Every unrecoverable error ends the program through die() below, the only
// function in weft that exits on its own: a fatal error (fatal(): "weft:
// fatal error: MSG" and every goroutine), a stack overflow (from the SIGSEGV
// handler: "weft: fatal error: goroutine N overflowed its S-byte stack" and
// that goroutine's trace), a panic (an exception that escaped a goroutine:
// "weft: panic: WHAT [TYPE]", Go's word, and the goroutine's trace) and
// SIGQUIT ("SIGQUIT: quit" and every goroutine, as Go prints it). die()
// lets one thread report (any other that gets there waits for the exit),
// writes the report to stderr in one piece, flushes the program's buffered
// output and exits with status 2.
//
// One exception: std::terminate on a thread that is not running a goroutine
// is the program's own failure, not weft's; it goes to the terminate handler
// that was there before weft's (signals.cpp), by default abort().
//
// The traces come from src/trace/, a layer above the runtime, through one
// seam: the trace_hooks weft::run hands over (fatal.hpp). The runtime never
// includes trace; a report made before any weft::run has no traces.
#include "runtime/fatal.hpp"

#include <atomic>
#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <typeinfo>

#include <cxxabi.h>

#include "platform/process.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

constexpr int max_frames = 64;

std::atomic<bool> dying{false};
std::atomic<const trace_hooks*> hooks{nullptr};

// What a report shows below its headline.
struct dump {
  enum class kind : std::uint8_t { none, one, all } what = kind::none;
  g* gp = nullptr;  // one: that goroutine; all: the caller's own (may be null)
  void* const* pcs = nullptr;  // gp's trace, captured by the caller
  int n = 0;
  // From a fault handler, already on the M's large alternate signal stack:
  // trace the goroutine in place, and leave stdio alone.
  bool in_signal_handler = false;
};

// The one exit. headline: the report's first line(s), ending in "\n".
[[noreturn]] void die(const std::string& headline, const dump& d) {
  if (dying.exchange(true)) {
    os::sleep_forever();  // another thread reports and exits
  }
  std::ostringstream out;
  out << headline;
  const trace_hooks* h = hooks.load(std::memory_order_acquire);
  if (h && d.what != dump::kind::none) {
    out << "\n";
    auto write_dump = [&] {
      if (d.what == dump::kind::one) {
        h->describe_goroutine(out, d.gp, d.pcs, d.n);
      } else {
        h->dump_all_goroutines(out, d.gp, d.pcs, d.n);
      }
    };
    if (d.in_signal_handler) {
      write_dump();
    } else {
      on_system_stack(write_dump);
    }
  }
  std::string text = out.str();
  os::write_stderr(text.data(), text.size());
  if (!d.in_signal_handler) {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
  }
  os::exit_now(2);
}

std::string demangled_type(const std::type_info* ti) {
  if (ti == nullptr) return "unknown exception";
  int status = 0;
  char* d = abi::__cxa_demangle(ti->name(), nullptr, nullptr, &status);
  std::string r = status == 0 && d ? d : ti->name();
  std::free(d);
  return r;
}

}  // namespace

[[gnu::noinline]] void fatal(const std::string& msg) {
  void* pcs[max_frames];
  int n = 0;
  if (const trace_hooks* h = hooks.load(std::memory_order_acquire)) n = h->capture_here(pcs, max_frames, 1);
  die("weft: fatal error: " + msg + "\n", dump{dump::kind::all, this_g(), pcs, n});
}

void panic_exception(g* gp, std::exception_ptr e) {
  std::string what = "unknown exception";
  std::string type = demangled_type(abi::__cxa_current_exception_type());
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {}
  void* pcs[max_frames];
  int n = 0;
  // describe_goroutine drops the terminate machinery above __cxa_throw.
  if (const trace_hooks* h = hooks.load(std::memory_order_acquire)) n = h->capture_here(pcs, max_frames, 0);
  die("weft: panic: " + what + " [" + type + "]\n", dump{dump::kind::one, gp, pcs, n});
}

void fatal_stack_overflow(g* gp, void* ucontext) {
  std::size_t size = gp->stk.size();
  std::string name = gp->name() ? " \"" + *gp->name() + "\"" : "";
  void* pcs[max_frames];
  int n = 0;
  if (const trace_hooks* h = hooks.load(std::memory_order_acquire)) n = h->capture_ucontext(ucontext, pcs, max_frames);
  die("weft: fatal error: goroutine " + std::to_string(gp->id) + name + " overflowed its " + std::to_string(size) +
          "-byte stack\n  raise it with weft::go(weft::go_options{.stack_size = " + std::to_string(size * 4) +
          "}, ...)\n",
      dump{dump::kind::one, gp, pcs, n, true});
}

void fatal_sigquit() { die("SIGQUIT: quit\n", dump{dump::kind::all, nullptr, nullptr, 0}); }

void set_trace_hooks(const trace_hooks* h) noexcept { hooks.store(h, std::memory_order_release); }

void on_system_stack(void (*fn)(void*), void* arg) {
  if (this_g() == nullptr) {
    fn(arg);
    return;
  }
  std::thread(fn, arg).join();
}

}  // namespace weft::detail
