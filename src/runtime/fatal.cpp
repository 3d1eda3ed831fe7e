// src/runtime/fatal.cpp: the one way out. Every unrecoverable error prints
// "weft: fatal error: ..." (or "weft: panic: ..." for an exception that
// escaped a goroutine), a goroutine dump or trace, and exits with status 2.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <typeinfo>

#include <cxxabi.h>

#include "runtime/runtime.hpp"
#include "trace/dump_internal.hpp"
#include "trace/stacktrace.hpp"

namespace weft::detail {

namespace {

std::atomic<bool> dying{false};

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
  if (dump_all) {
    out << "\n";
    void* pcs[64];
    int n = trace::capture_here(pcs, 64, 1);
    g* self = this_g();
    on_system_stack([&] { dump_all_goroutines(out, self, pcs, n); });
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
  void* pcs[64];
  int n = trace::capture_here(pcs, 64, 0);
  // describe_goroutine drops the terminate machinery above __cxa_throw.
  on_system_stack([&] { describe_goroutine(out, gp, pcs, n); });
  std::string s = out.str();
  if (::write(2, s.data(), s.size()) < 0) {
  }
  die();
}


}  // namespace weft::detail
