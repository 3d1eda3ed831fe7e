// src/trace/stacktrace.cpp: stack traces for goroutine dumps and panics.
//
// Capture and symbolization are separate steps. Capture is cheap and
// allocation-free (an array of pcs) and stays async-signal-safe, so it works
// in a fatal-signal handler and while the scheduler holds its locks.
// Symbolization is slow and allocates, and runs only when a trace is printed.
//
// Why libunwind for capture: it walks the .eh_frame CFI every function already
// carries (the tables C++ exceptions use). So it is exact through code built
// without frame pointers (libc, libstdc++) and through signal frames, and it
// guesses from the rbp chain only where CFI is missing. glibc's backtrace() and
// _Unwind_Backtrace start only from the calling thread. libunwind starts from
// any register set: a signal's ucontext, or a parked goroutine's saved
// registers. Rejected: a frame-pointer walk of our own (wrong in code without
// frame pointers, and the brief is not to write an unwinder).
//
// Why libdw for symbols: a Go-style trace needs file:line, and that is DWARF.
// Dwfl reads /proc/self/maps, finds each module's ELF and its separate
// debuginfo (build-id, /usr/lib/debug) and maps an address to a symbol and a
// line. Rejected: backtrace_symbols (dynamic symbols only, no lines) and
// addr2line in a subprocess (fork in a dying process, slow).
//
// The fcontext trick: a goroutine parked by Boost.Context's jump_fcontext has
// its callee-saved registers and its resume address pushed on its own stack,
// and the fcontext_t is the stack pointer after those pushes. Those are exactly
// the registers a DWARF unwinder needs for the frame that called jump_fcontext
// (rip = the return address, rsp = fctx+0x40, rbp/rbx/r12-r15 as saved). We
// copy them into a ucontext_t (libunwind's unw_context_t on x86_64) and let
// unw_init_local treat it as a context of this thread, which is valid
// because "local" only means "same address space". The goroutine must stay
// parked while we read its stack.
//
// Invariants of the walk (walk() below): a frame is stepped past only if
// libunwind has unwind info for it, and the stack pointer must grow with every
// step (except out of a signal frame, where it may jump to another stack). The
// bottom of an fcontext stack, make_fcontext's trampoline, has no CFI and an rbp
// that points at code, so the walk ends there instead of following garbage.
// Symbolization uses one Dwfl session behind a mutex. It is reported again
// when the dynamic loader's dlopen/dlclose counters (dl_iterate_phdr's
// dlpi_adds/dlpi_subs) have changed. That covers a pc in a newly loaded module
// and a module reloaded at an old address, and a garbage pc does not cost a
// reread of /proc/self/maps.
#define UNW_LOCAL_ONLY
#include "trace/stacktrace.hpp"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <libunwind.h>
#include <link.h>
#include <ucontext.h>
#include <unistd.h>

#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <ostream>

namespace weft::detail::trace {
namespace {

// Walks outward from the frame `cur` is on and stores up to `max` pcs, dropping
// the first `skip`. `from_signal`: frame 0 is an interrupted instruction that
// may have no unwind info (a jump to a bad pc), so let libunwind guess once.
int walk(unw_cursor_t* cur, void** pcs, int max, int skip, bool from_signal) {
  int n = 0;
  for (int depth = 0; n < max; ++depth) {
    unw_word_t ip = 0;
    unw_word_t sp = 0;
    if (unw_get_reg(cur, UNW_REG_IP, &ip) < 0 || unw_get_reg(cur, UNW_REG_SP, &sp) < 0) break;
    if (ip == 0 && !(from_signal && depth == 0)) break;  // end of the chain
    if (depth >= skip) pcs[n++] = reinterpret_cast<void*>(ip);
    if (n == max) break;
    unw_proc_info_t info;
    const bool known = ip != 0 && unw_get_proc_info(cur, &info) == 0;
    if (!known && !(from_signal && depth == 0)) break;  // cannot step past it safely
    // unw_is_signal_frame reads the code at ip, so ask only about a known pc.
    const bool signal_frame = known && unw_is_signal_frame(cur) > 0;
    if (unw_step(cur) <= 0) break;
    unw_word_t next_sp = 0;
    if (unw_get_reg(cur, UNW_REG_SP, &next_sp) < 0) break;
    if (!signal_frame && next_sp <= sp) break;  // a loop or garbage, not a caller
  }
  return n;
}

// The dynamic loader's counts of loaded and unloaded objects; they change on
// every dlopen and dlclose.
struct loader_generation {
  unsigned long long adds = 0;
  unsigned long long subs = 0;
  bool operator==(const loader_generation&) const = default;
};

loader_generation current_loader_generation() {
  loader_generation g;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t size, void* data) -> int {
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
          auto* out = static_cast<loader_generation*>(data);
          out->adds = info->dlpi_adds;
          out->subs = info->dlpi_subs;
        }
        return 1;  // the counters are global: the first object is enough
      },
      &g);
  return g;
}

// One Dwfl session for the process. Leaked on purpose: traces are printed
// on the way out (fatal errors, atexit), after static destructors may have run.
class session {
 public:
  // Runs f(dwfl) under the lock, with modules reported for the current
  // process; dwfl is null if libdw could not start.
  template <class F>
  void with_dwfl(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    refresh_locked();
    f(dwfl_);
  }

 private:
  void refresh_locked() {
    const loader_generation gen = current_loader_generation();
    if (dwfl_ == nullptr) {
      dwfl_ = dwfl_begin(&callbacks_);
      if (dwfl_ == nullptr) return;
    } else if (reported_ && gen == generation_) {
      return;
    }
    dwfl_report_begin(dwfl_);
    const int rc = dwfl_linux_proc_report(dwfl_, getpid());
    dwfl_report_end(dwfl_, nullptr, nullptr);
    reported_ = rc == 0;
    generation_ = gen;
  }

  std::mutex mu_;
  Dwfl* dwfl_ = nullptr;            // GUARDED_BY(mu_)
  bool reported_ = false;           // GUARDED_BY(mu_)
  loader_generation generation_;    // GUARDED_BY(mu_): at the last report
  char* debuginfo_path_ = nullptr;  // libdw's default search path
  const Dwfl_Callbacks callbacks_ = {
      dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr, &debuginfo_path_};
};

session& the_session() {
  static session* s = new session;
  return *s;
}

// Demangles a symbol, dropping a symbol version ("f@@GLIBC_2.34" -> "f").
std::string demangle(const char* symbol) {
  std::string name(symbol, std::strcspn(symbol, "@"));
  if (name.size() > 2 && name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(
        abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
    if (status == 0 && out) return out.get();
  }
  return name;
}

std::string hex(std::uintptr_t v) {
  char buf[2 + 2 * sizeof v + 1];
  std::snprintf(buf, sizeof buf, "0x%" PRIxPTR, v);
  return buf;
}

void write(std::ostream& out, const std::string& s) {
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

}  // namespace

[[gnu::noinline]] int capture_here(void** pcs, int max, int skip) {
  if (pcs == nullptr || max <= 0) return 0;
  unw_context_t ctx;
  if (unw_getcontext(&ctx) < 0) return 0;
  unw_cursor_t cur;
  if (unw_init_local(&cur, &ctx) < 0) return 0;
  // Frame 0 of the cursor is capture_here itself.
  return walk(&cur, pcs, max, 1 + (skip > 0 ? skip : 0), false);
}

int capture_fcontext(const void* fctx, void** pcs, int max) {
  if (fctx == nullptr || pcs == nullptr || max <= 0) return 0;
  std::uint64_t saved[8];  // the layout jump_fcontext pushes; see the header
  std::memcpy(saved, fctx, sizeof saved);
  unw_context_t ctx;
  std::memset(&ctx, 0, sizeof ctx);
  greg_t* r = ctx.uc_mcontext.gregs;
  r[REG_R12] = static_cast<greg_t>(saved[1]);
  r[REG_R13] = static_cast<greg_t>(saved[2]);
  r[REG_R14] = static_cast<greg_t>(saved[3]);
  r[REG_R15] = static_cast<greg_t>(saved[4]);
  r[REG_RBX] = static_cast<greg_t>(saved[5]);
  r[REG_RBP] = static_cast<greg_t>(saved[6]);
  r[REG_RIP] = static_cast<greg_t>(saved[7]);
  r[REG_RSP] = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(fctx) + 0x40);
  unw_cursor_t cur;
  // unw_init_local (not the signal-frame variant): the saved rip is a return
  // address, the instruction after the call to jump_fcontext.
  if (unw_init_local(&cur, &ctx) < 0) return 0;
  return walk(&cur, pcs, max, 0, false);
}

int capture_ucontext(void* ucontext, void** pcs, int max) {
  if (ucontext == nullptr || pcs == nullptr || max <= 0) return 0;
  unw_cursor_t cur;
  // A signal frame: rip is the interrupted instruction, not a return address.
  if (unw_init_local2(&cur, static_cast<unw_context_t*>(ucontext), UNW_INIT_SIGNAL_FRAME) < 0)
    return 0;
  return walk(&cur, pcs, max, 0, true);
}

frame symbolize(void* pc, bool is_return_address) {
  frame f;
  f.pc = reinterpret_cast<std::uintptr_t>(pc);
  f.function = "?";
  // A return address is the instruction after the call, which may belong to
  // the next line or even the next function.
  const Dwarf_Addr addr = is_return_address && f.pc > 0 ? f.pc - 1 : f.pc;
  the_session().with_dwfl([&](Dwfl* dwfl) {
    if (dwfl == nullptr) return;
    Dwfl_Module* mod = dwfl_addrmodule(dwfl, addr);
    if (mod == nullptr) return;
    GElf_Off off = 0;
    GElf_Sym sym;
    if (const char* name = dwfl_module_addrinfo(mod, addr, &off, &sym, nullptr, nullptr, nullptr)) {
      f.function = demangle(name);
      f.offset = off + (f.pc - addr);
    }
    if (Dwfl_Line* line = dwfl_module_getsrc(mod, addr)) {
      int lineno = 0;
      if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
        f.file = file;
        f.line = lineno;
      }
    }
  });
  return f;
}

void print_trace(std::ostream& out, void* const* pcs, int n) {
  if (pcs == nullptr) return;
  try {
    for (int i = 0; i < n; ++i) {
      const frame f = symbolize(pcs[i]);
      std::string s = f.function;
      // Go writes the arguments; a demangled C++ name already carries its
      // parameter types, so "(...)" goes only after bare names.
      if (s.find('(') == std::string::npos) s += "(...)";
      s += "\n\t";
      if (!f.file.empty()) {
        s += f.file + ":" + std::to_string(f.line) + " +" + hex(f.offset);
      } else {
        s += "?:0";
        if (f.function != "?") s += " +" + hex(f.offset);
        s += " pc=" + hex(f.pc);
      }
      s += "\n";
      write(out, s);
    }
  } catch (const std::exception& e) {
    try {
      write(out, std::string("\t<symbolizer failed: ") + e.what() + ">\n");
    } catch (...) {
    }
  } catch (...) {
    try {
      write(out, "\t<symbolizer failed: unknown exception>\n");
    } catch (...) {
    }
  }
}

}  // namespace weft::detail::trace
