// src/trace/stacktrace.cpp: stack traces for goroutine dumps and panics.
//
// Capture and symbolization are separate. Capture fills an array of pcs,
// allocates nothing and uses only libunwind calls documented as safe in a
// signal handler, so it works in a fatal-signal handler and under scheduler
// locks. Symbolization is slow, allocates and locks; it runs when a trace is
// printed.
//
// Why libunwind: it unwinds with the .eh_frame CFI that every function carries
// for C++ exceptions, so it is exact through code without frame pointers
// (libc, libstdc++) and through signal frames. Unlike backtrace() and
// _Unwind_Backtrace, which start only from the calling thread, it starts from
// any register set: a signal's ucontext, or a parked goroutine's saved
// registers. Rejected: our own frame-pointer walk (it loses frames in code
// built without frame pointers).
// Why libdw: a Go-style trace needs file:line, which means DWARF. Dwfl finds
// each module's ELF and separate debuginfo and maps an address to a symbol and
// a line. Rejected: backtrace_symbols (dynamic symbols only, no lines) and an
// addr2line subprocess (a fork in a dying process, and slow).
//
// The fcontext trick: jump_fcontext pushes the callee-saved registers and the
// resume address on the goroutine's own stack, and the fcontext_t is the stack
// pointer after those pushes. That is the whole register state a DWARF unwinder
// needs for the frame that called jump_fcontext: rip = the return address,
// rsp = fctx+0x40, and rbp, rbx and r12-r15 as saved. We copy them into a
// ucontext_t (libunwind's unw_context_t on x86_64) and unw_init_local it. This
// is valid because "local" only means "same address space". The goroutine must
// stay parked while we read its stack.
//
// The walk (walk() below) steps past a frame only if libunwind has unwind info
// for it, and the stack pointer must grow at every step (except out of a signal
// frame, which may switch stacks). So the walk ends at the bottom of an fcontext
// stack (make_fcontext's trampoline has no CFI and an rbp that points at code)
// and at garbage return addresses. It still trusts the memory of a frame that
// has CFI: libunwind does not validate addresses for local contexts.
//
// Symbolization: one Dwfl session behind a mutex, leaked. It departs from the
// textbook setup in five ways, each for a reason:
// - Modules come from the dynamic loader (dl_iterate_phdr + dwfl_report_elf),
//   not dwfl_linux_proc_report. libdw mmaps the files it reads, so
//   /proc/self/maps then shows, say, a private mapping of libc.so.6 next to the
//   real one. A second report merges the two and gets libc's address wrong.
// - Modules are reported again when the loader's dlopen/dlclose counters
//   (dlpi_adds/dlpi_subs) change. This covers a library loaded later and one
//   reloaded at an old address, and a garbage pc triggers no report.
// - Debuginfo is looked up only on this machine: by build-id under
//   /usr/lib/debug (Debian's -dbgsym packages), then by .gnu_debuglink. Never
//   debuginfod: libdw would dlopen libdebuginfod (libcurl, TLS, Kerberos, about
//   30 libraries) and might go to the network while we print a panic.
// - Answers are cached by address (bounded; cleared when the loader's set
//   of objects changes): libdw's symbol search is linear in a module's
//   symbols, milliseconds a lookup in a large program, and a dump shows the
//   same pcs many times.
// - A CU is found through .debug_aranges if there is one, else through our own
//   table of CU ranges. clang emits no .debug_aranges (unless -gdwarf-aranges),
//   and without it libdw 0.188 finds no line.
#define UNW_LOCAL_ONLY
#include "trace/stacktrace.hpp"
#include "trace/cfi_unwind.hpp"

#include "platform/thread_mutex.hpp"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <libunwind.h>
#include <link.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <ostream>
#include <unordered_map>
#include <vector>

namespace weft::detail::trace {
namespace {

// ---- capture ----

// Walks outward from the frame `cur` is on and stores up to `max` pcs, dropping
// the first `skip`. `from_signal`: frame 0 is an interrupted instruction that
// may have no unwind info (a jump to a bad pc), so let libunwind guess once.
// `memo` (may be null) keeps, per ip, what libunwind said of it: each of
// those questions looks the ip's FDE up again (dl_iterate_phdr, with every
// signal blocked around it: two syscalls), which was most of the cost of a
// dump of 100,000 parked goroutines that share a few ips.
int walk(unw_cursor_t* cur, void** pcs, int max, int skip, bool from_signal, unwind_memo* memo) {
  int n = 0;
  for (int depth = 0; n < max; ++depth) {
    unw_word_t ip = 0;
    unw_word_t sp = 0;
    if (unw_get_reg(cur, UNW_REG_IP, &ip) < 0 || unw_get_reg(cur, UNW_REG_SP, &sp) < 0) break;
    const bool may_guess = from_signal && depth == 0;
    if (ip == 0 && !may_guess) break;  // end of the chain
    if (depth >= skip) pcs[n++] = reinterpret_cast<void*>(ip);
    if (n == max) break;
    bool known = false;
    bool signal_frame = false;
    auto seen = memo != nullptr && ip != 0 ? memo->ips.find(ip) : decltype(memo->ips)::iterator{};
    if (memo != nullptr && ip != 0 && seen != memo->ips.end()) {
      known = (seen->second & unwind_memo::known) != 0;
      signal_frame = (seen->second & unwind_memo::signal_frame) != 0;
    } else {
      unw_proc_info_t info;
      known = ip != 0 && unw_get_proc_info(cur, &info) == 0;
      // unw_is_signal_frame reads the code at ip, so ask only about a known pc.
      signal_frame = known && unw_is_signal_frame(cur) > 0;
      if (memo != nullptr && ip != 0)
        memo->ips.emplace(ip, static_cast<std::uint8_t>((known ? unwind_memo::known : 0) |
                                                        (signal_frame ? unwind_memo::signal_frame : 0)));
    }
    if (!known && !may_guess) break;  // cannot step past it safely
    if (unw_step(cur) <= 0) break;
    unw_word_t next_sp = 0;
    if (unw_get_reg(cur, UNW_REG_SP, &next_sp) < 0) break;
    if (!signal_frame && next_sp <= sp) break;  // a loop or garbage, not a caller
  }
  return n;
}

// ---- the loader's view of the process ----

struct loaded_object {
  std::string path;
  std::uintptr_t bias = 0;  // dlpi_addr: link-time address + bias = run-time address
};

struct loader_generation {
  unsigned long long adds = 0;  // dlpi_adds/dlpi_subs: bumped by every dlopen/dlclose
  unsigned long long subs = 0;
  bool operator==(const loader_generation&) const = default;
};

// Reads the loader's counters and, if `objects` is given, its list of objects.
loader_generation read_loader(std::vector<loaded_object>* objects) {
  struct state {
    loader_generation gen;
    std::vector<loaded_object>* objects;
  } st{{}, objects};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t size, void* data) -> int {
        auto* s = static_cast<state*>(data);
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
          s->gen.adds = info->dlpi_adds;
          s->gen.subs = info->dlpi_subs;
        }
        if (s->objects == nullptr) return 1;  // the counters are global
        // The main program has an empty name; the vDSO has a name but no file.
        if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0')
          s->objects->push_back({info->dlpi_name, info->dlpi_addr});
        else if (s->objects->empty())
          s->objects->push_back({"", info->dlpi_addr});
        return 0;
      },
      &st);
  return st.gen;
}

std::string main_program_path() {
  char buf[PATH_MAX];
  const ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return len > 0 ? std::string(buf, static_cast<std::size_t>(len)) : std::string("/proc/self/exe");
}

// ---- debuginfo: local only ----

bool exists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

int find_debuginfo_locally(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base, const char* file,
                           const char* debuglink, GElf_Word crc, char** debuginfo_file) {
  const int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file, debuglink, crc, debuginfo_file);
  if (fd >= 0 || file == nullptr || debuglink == nullptr) return fd;
  // .gnu_debuglink: let libdw search (and check the CRC) only if a candidate
  // exists, because once its search fails it asks debuginfod.
  try {
    std::string dir(file);
    dir.erase(dir.find_last_of('/') + 1);
    const std::string name(debuglink);
    if (name[0] == '/' ? exists(name)  // a dwz alt file is named by absolute path
                       : exists(dir + name) || exists(dir + ".debug/" + name) || exists("/usr/lib/debug" + dir + name))
      return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file, debuglink, crc, debuginfo_file);
  } catch (...) {}
  return -1;
}

// ---- the Dwfl session ----

class session {
 public:
  // Runs f(dwfl, *this) under the lock with modules reported for the current
  // set of loaded objects; dwfl is null if libdw could not start.
  template <class F>
  void with_dwfl(F&& f) {
    detail::lock_scope lock(mu_);
    refresh_locked();
    f(dwfl_, *this);
  }

  // REQUIRES: called from with_dwfl's f, so with mu_ held. Sets f.file and
  // f.line for the module-relative `addr` through the module's CU ranges.
  // Not analysed: f is a lambda, which clang analyses on its own, without
  // the lock with_dwfl holds around it (and it cannot name the private mu_).
  bool line_by_cu_ranges(Dwfl_Module* mod, Dwarf_Addr addr, frame& f) NO_THREAD_SAFETY_ANALYSIS {
    auto it = cu_ranges_.find(mod);
    if (it == cu_ranges_.end()) it = cu_ranges_.emplace(mod, build_cu_ranges(mod)).first;
    const std::vector<cu_range>& ranges = it->second;
    auto next =
        std::upper_bound(ranges.begin(), ranges.end(), addr, [](Dwarf_Addr a, const cu_range& r) { return a < r.lo; });
    if (next == ranges.begin()) return false;
    cu_range r = *(next - 1);
    if (addr >= r.hi) return false;
    Dwarf_Line* line = dwarf_getsrc_die(&r.cu, addr);
    if (line == nullptr) return false;
    const char* file = dwarf_linesrc(line, nullptr, nullptr);
    if (file == nullptr) return false;
    f.file = file;
    dwarf_lineno(line, &f.line);
    return true;
  }

  // REQUIRES: called from with_dwfl's f (mu_ held), as line_by_cu_ranges.
  // The answer for the looked-up address `addr` (pc or pc-1), from an
  // earlier symbolize: f keeps its pc, and its offset is shifted by the
  // difference (the same addr comes from one pc only, but a pc may be
  // looked up both as a return address and as an exact one).
  bool cached(Dwarf_Addr addr, frame& f) NO_THREAD_SAFETY_ANALYSIS {
    auto it = cache_.find(addr);
    if (it == cache_.end()) return false;
    const std::uintptr_t pc = f.pc;
    f = it->second;
    if (f.function != "?") f.offset = f.offset - f.pc + pc;
    f.pc = pc;
    return true;
  }
  void remember(Dwarf_Addr addr, const frame& f) NO_THREAD_SAFETY_ANALYSIS {
    if (cache_.size() >= cache_max) cache_.clear();  // a crude bound; a dump's pcs are few
    cache_.emplace(addr, f);
  }

 private:
  // Distinct pcs a process's dumps and panics show: a few hundred to a few
  // thousand; each entry is a frame (about 300 bytes with its strings).
  static constexpr std::size_t cache_max = 16384;

  struct cu_range {
    Dwarf_Addr lo;  // module-relative (DWARF) addresses
    Dwarf_Addr hi;
    Dwarf_Die cu;
  };

  static std::vector<cu_range> build_cu_ranges(Dwfl_Module* mod) {
    std::vector<cu_range> ranges;
    Dwarf_Addr bias = 0;
    Dwarf* dw = dwfl_module_getdwarf(mod, &bias);
    if (dw == nullptr) return ranges;
    Dwarf_CU* cu = nullptr;
    Dwarf_Die cudie;
    std::uint8_t unit_type = 0;
    while (dwarf_get_units(dw, cu, &cu, nullptr, &unit_type, &cudie, nullptr) == 0) {
      if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
      Dwarf_Addr range_base = 0;
      Dwarf_Addr lo = 0;
      Dwarf_Addr hi = 0;
      for (ptrdiff_t off = 0; (off = dwarf_ranges(&cudie, off, &range_base, &lo, &hi)) > 0;)
        if (lo < hi) ranges.push_back({lo, hi, cudie});
    }
    std::sort(ranges.begin(), ranges.end(), [](const cu_range& a, const cu_range& b) { return a.lo < b.lo; });
    return ranges;
  }

  void refresh_locked() REQUIRES(mu_) {
    const loader_generation gen = read_loader(nullptr);
    if (dwfl_ == nullptr) {
      dwfl_ = dwfl_begin(&callbacks_);
      if (dwfl_ == nullptr) return;
    } else if (gen == generation_) {
      return;
    }
    std::vector<loaded_object> objects;
    generation_ = read_loader(&objects);
    cu_ranges_.clear();  // modules may go away in dwfl_report_end
    cache_.clear();  // and an address may now belong to another library
    dwfl_report_begin(dwfl_);
    for (loaded_object& o : objects) {
      if (o.path.empty()) o.path = main_program_path();
      // Fails harmlessly for objects without a file (the vDSO).
      dwfl_report_elf(dwfl_, o.path.c_str(), o.path.c_str(), -1, o.bias, true);
    }
    dwfl_report_end(dwfl_, nullptr, nullptr);
  }

  thread_mutex mu_;
  Dwfl* dwfl_ GUARDED_BY(mu_) = nullptr;
  loader_generation generation_ GUARDED_BY(mu_);  // at the last report
  std::unordered_map<Dwfl_Module*, std::vector<cu_range>> cu_ranges_ GUARDED_BY(mu_);
  // Looked-up address -> its frame: libdw's symbol search is linear in the
  // module's symbols (milliseconds for a big program), and a dump of
  // 100,000 goroutines shows the same few pcs over and over (issue 16).
  std::unordered_map<Dwarf_Addr, frame> cache_ GUARDED_BY(mu_);
  char* debuginfo_path_ = nullptr;  // libdw's default search path
  const Dwfl_Callbacks callbacks_ = {dwfl_linux_proc_find_elf, find_debuginfo_locally, nullptr, &debuginfo_path_};
};

session& the_session() {
  static session* s = new session;  // leaked: traces print during exit too
  return *s;
}

std::atomic<std::uint64_t> lookups{0};  // symbolizer_lookups

// ---- formatting ----

// Demangles a symbol, dropping a symbol version ("f@@GLIBC_2.34" -> "f").
std::string demangle(const char* symbol) {
  std::string name(symbol, std::strcspn(symbol, "@"));
  if (name.size() > 2 && name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
    if (status == 0 && out) return out.get();
  }
  return name;
}

void append_hex(std::string& s, std::uintptr_t v) {
  char buf[2 + 2 * sizeof v + 1];
  std::snprintf(buf, sizeof buf, "0x%" PRIxPTR, v);
  s.append(buf);
}

// How many frames of a run of identical ones print_trace shows before one
// line sums up the rest.
constexpr int run_shown = 3;

void write(std::ostream& out, const std::string& s) { out.write(s.data(), static_cast<std::streamsize>(s.size())); }

}  // namespace

[[gnu::noinline]] int capture_here(void** pcs, int max, int skip) {
  if (pcs == nullptr || max <= 0) return 0;
  unw_context_t ctx;
  if (unw_getcontext(&ctx) < 0) return 0;
  unw_cursor_t cur;
  if (unw_init_local(&cur, &ctx) < 0) return 0;
  // Frame 0 of the cursor is capture_here itself.
  return walk(&cur, pcs, max, 1 + (skip > 0 ? skip : 0), false, nullptr);
}

int capture_fcontext(const void* fctx, void** pcs, int max, unwind_memo* memo) {
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
  return walk(&cur, pcs, max, 0, false, memo);
}

int capture_ucontext(void* ucontext, void** pcs, int max) {
  if (ucontext == nullptr || pcs == nullptr || max <= 0) return 0;
  unw_cursor_t cur;
  // A signal frame: rip is the interrupted instruction, not a return address.
  if (unw_init_local2(&cur, static_cast<unw_context_t*>(ucontext), UNW_INIT_SIGNAL_FRAME) < 0) return 0;
  return walk(&cur, pcs, max, 0, true, nullptr);
}

frame symbolize(void* pc, bool is_return_address) {
  frame f;
  f.pc = reinterpret_cast<std::uintptr_t>(pc);
  f.function.push_back('?');  // not = "?": a false -Wrestrict from GCC 12 at -O3
  // A return address is the instruction after the call, which may belong to
  // the next line or even the next function.
  const Dwarf_Addr addr = is_return_address && f.pc > 0 ? f.pc - 1 : f.pc;
  the_session().with_dwfl([&](Dwfl* dwfl, session& s) {
    if (s.cached(addr, f)) return;
    lookups.fetch_add(1, std::memory_order_relaxed);
    if (dwfl == nullptr) return;
    Dwfl_Module* mod = dwfl_addrmodule(dwfl, addr);
    if (mod == nullptr) return s.remember(addr, f);
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
        return s.remember(addr, f);
      }
    }
    Dwarf_Addr bias = 0;
    if (dwfl_module_getdwarf(mod, &bias) != nullptr) s.line_by_cu_ranges(mod, addr - bias, f);
    s.remember(addr, f);
  });
  return f;
}

step_rule rule_for(std::uintptr_t addr) {
  step_rule r;
  the_session().with_dwfl([&](Dwfl* dwfl, session&) {
    if (dwfl == nullptr) return;
    Dwfl_Module* mod = dwfl_addrmodule(dwfl, addr);
    if (mod == nullptr) return;
    Dwarf_Addr bias = 0;
    Dwarf_CFI* cfi = dwfl_module_eh_cfi(mod, &bias);
    Dwarf_Frame* frame = nullptr;
    // No CFI here: libunwind's step guesses from rbp (x86_64), which this
    // does not model, so the rule stays kind::libunwind.
    if (cfi == nullptr || dwarf_cfi_addrframe(cfi, addr - bias, &frame) != 0) return;
    r = rule_from_frame(frame);
    std::free(frame);
  });
  return r;
}

std::uint64_t symbolizer_lookups() noexcept { return lookups.load(std::memory_order_relaxed); }

void print_trace(std::ostream& out, void* const* pcs, int n) {
  if (pcs == nullptr) return;
  try {
    std::string s;
    int in_run = 0;  // frames before this one with the same pc, back to back
    for (int i = 0; i < n; ++i) {
      in_run = i > 0 && pcs[i] == pcs[i - 1] ? in_run + 1 : 0;
      // A function recursing through one call site (a stack overflow shows
      // 64 of them) prints its first few frames, then one line for the rest.
      if (in_run == run_shown) {
        int run_end = i;
        while (run_end < n && pcs[run_end] == pcs[i]) ++run_end;
        if (run_end - i > 1) {
          const frame f = symbolize(pcs[i]);
          s.assign("... ").append(std::to_string(run_end - i)).append(" more frames of ").append(f.function);
          if (f.function.find('(') == std::string::npos) s.append("(...)");
          s.append("\n");
          write(out, s);
          i = run_end - 1;
          continue;
        }
      }
      const frame f = symbolize(pcs[i]);
      s.clear();
      s.append(f.function);
      // Go writes the arguments; a demangled C++ name already carries its
      // parameter types, so "(...)" goes only after bare names.
      if (f.function.find('(') == std::string::npos) s.append("(...)");
      s.append("\n\t");
      if (!f.file.empty()) {
        s.append(f.file).append(":").append(std::to_string(f.line)).append(" +");
        append_hex(s, f.offset);
      } else {
        s.append("?:0");
        if (f.function != "?") {
          s.append(" +");
          append_hex(s, f.offset);
        }
        s.append(" pc=");
        append_hex(s, f.pc);
      }
      s.append("\n");
      write(out, s);
    }
  } catch (...) {
    try {
      std::string msg("\t<symbolizer failed: ");
      try {
        throw;
      } catch (const std::exception& e) {
        msg.append(e.what());
      } catch (...) {
        msg.append("unknown exception");
      }
      write(out, msg.append(">\n"));
    } catch (...) {  // the stream itself throws: nothing more to do
    }
  }
}

}  // namespace weft::detail::trace
