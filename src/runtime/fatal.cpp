// src/runtime/fatal.cpp: the one way out. Every unrecoverable error prints
// "weft: fatal error: ..." (or "weft: panic: ..." for an exception that
// escaped a goroutine), a goroutine dump or trace, and exits with status 2.
//
// The traces come from src/trace/, a layer above the runtime, through one
// seam: the trace_hooks weft::run hands over (fatal.hpp). The runtime never
// includes trace; a report made before any weft::run has no traces.
#include "runtime/fatal.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <typeinfo>

#include <cxxabi.h>

#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

std::atomic<bool> dying{false};
std::atomic<const trace_hooks*> hooks{nullptr};

void write_all(const std::string& s) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(2, p, left);
    if (n <= 0) return;
    p += n;
    left -= std::size_t(n);
  }
}

[[noreturn]] void die() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  _exit(2);
}

// Only one thread reports; the others wait for the exit.
void claim_death() {
  if (dying.exchange(true)) {
    for (;;) pause();
  }
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

void fatal(const std::string& msg, bool dump_all) {
  claim_death();
  std::ostringstream out;
  out << "weft: fatal error: " << msg << "\n";
  const trace_hooks* h = hooks.load(std::memory_order_acquire);
  if (dump_all && h) {
    out << "\n";
    void* pcs[64];
    int n = h->capture_here(pcs, 64, 1);
    g* self = this_g();
    on_system_stack([&] { h->dump_all_goroutines(out, self, pcs, n); });
  }
  std::string s = out.str();
  if (::write(2, s.data(), s.size()) < 0) {
  }
  die();
}

void panic_exception(g* gp, std::exception_ptr e) {
  claim_death();
  std::ostringstream out;
  std::string what = "unknown exception";
  std::string type = demangled_type(abi::__cxa_current_exception_type());
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  out << "weft: panic: " << what << " [" << type << "]\n\n";
  if (const trace_hooks* h = hooks.load(std::memory_order_acquire)) {
    void* pcs[64];
    int n = h->capture_here(pcs, 64, 0);
    // describe_goroutine drops the terminate machinery above __cxa_throw.
    on_system_stack([&] { h->describe_goroutine(out, gp, pcs, n); });
  }
  std::string s = out.str();
  if (::write(2, s.data(), s.size()) < 0) {
  }
  die();
}

void fatal_stack_overflow(g* gp, void* ucontext) {
  std::ostringstream out;
  std::size_t size = gp->stk.size();
  out << "weft: fatal error: goroutine " << gp->id;
  if (gp->name()) out << " \"" << *gp->name() << "\"";
  out << " overflowed its " << size << "-byte stack\n"
      << "  raise it with weft::go(weft::go_options{.stack_size = " << size * 4 << "}, ...)\n\n";
  // Already on a large stack (the M's alternate signal stack): no helper thread.
  if (const trace_hooks* h = hooks.load(std::memory_order_acquire)) {
    void* pcs[64];
    int n = h->capture_ucontext(ucontext, pcs, 64);
    h->describe_goroutine(out, gp, pcs, n);
  }
  write_all(out.str());
  _exit(2);
}

void fatal_sigquit() {
  std::ostringstream out;
  out << "SIGQUIT: quit\n\n";
  if (const trace_hooks* h = hooks.load(std::memory_order_acquire)) h->dump_all_goroutines(out, nullptr, nullptr, 0);
  write_all(out.str());
  _exit(2);
}

void set_trace_hooks(const trace_hooks* h) noexcept { hooks.store(h, std::memory_order_release); }

void on_system_stack(void (*fn)(void*), void* arg) {
  if (this_g() == nullptr) {
    fn(arg);
    return;
  }
  std::thread(fn, arg).join();
}

}  // namespace weft::detail
