// src/trace/stacktrace.hpp: capturing and printing stack traces (goroutine
// dumps, panics, fatal signals). See stacktrace.cpp for the design.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <unordered_map>
namespace weft::detail::trace {
// Unwinds the calling thread's stack, skipping `skip` innermost frames (the caller of capture_here is frame 0 when
// skip=0). Returns the number of pcs stored.
int capture_here(void** pcs, int max, int skip);
// Unwinds the stack of a suspended Boost.Context fcontext_t (x86_64 SysV): `fctx` is the pointer jump_fcontext returned
// to whoever resumed after it switched away. Saved layout at fctx: +0x00 mxcsr/x87 cw, +0x08 r12, +0x10 r13, +0x18 r14,
// +0x20 r15, +0x28 rbx, +0x30 rbp, +0x38 return address (rip); the suspended rsp is fctx+0x40. Build a unw_context_t (a
// ucontext_t on x86_64 libunwind) from these registers and unw_init_local it. Must not crash on a stack it cannot fully
// unwind: stop at the first frame it cannot step past. Stop also after `max`. REQUIRES: the context stays suspended
// (and its stack mapped) for the duration of the call.
// memo (may be null): see unwind_memo.
struct unwind_memo;
int capture_fcontext(const void* fctx, void** pcs, int max, unwind_memo* memo = nullptr);
// What unwinding learned of code addresses: whether libunwind has unwind
// info for an ip and whether it is a signal frame. Facts about code, true
// while it stays loaded: one dump, unwinding thousands of goroutines parked
// at the same few ips, asks libunwind once per ip. Not thread-safe and never
// global (walks also run in signal handlers): one per dump.
struct unwind_memo {
  static constexpr std::uint8_t known = 1;
  static constexpr std::uint8_t signal_frame = 2;
  std::unordered_map<std::uintptr_t, std::uint8_t> ips;
};
// Unwinds from a signal handler's ucontext (third argument of an SA_SIGINFO handler), the faulting frame first.
// Note: pcs[0] is the interrupted instruction itself, not a return address; symbolize(pcs[0], false) gives its exact
// line.
int capture_ucontext(void* ucontext, void** pcs, int max);
struct frame {
  std::uintptr_t pc = 0;
  std::string function;  // demangled; "?" when unknown
  std::string file;  // empty when unknown
  int line = 0;
  std::uintptr_t offset = 0;  // pc - start of function
};
// Symbolizes one return address (look up pc-1 for return addresses so the line is the call's). Thread-safe (one cached
// Dwfl session behind a mutex; modules are re-reported when the dynamic loader's dlopen/dlclose counters change, so a
// pc in a library loaded later is found). Not async-signal-safe.
frame symbolize(void* pc, bool is_return_address = true);
// How many times symbolize has asked libdw (cache misses), since the start:
// for tests that a dump asks once per distinct pc, not once per frame.
std::uint64_t symbolizer_lookups() noexcept;
// Prints a trace in Go's style, one frame per two lines:
//   function(...)\n\t/path/file.cpp:123 +0x1f\n
// A demangled C++ name already ends in its parameter types and is printed as is; "(...)" follows bare names (C
// functions, "?"). An unknown file prints as "\t?:0 +0x1f pc=0x7f...". Repeats are elided: of a run of frames with one
// pc (recursion through one call site), the first three print and one line stands for the rest: "... 60 more frames of
// recurse(int)". Frames whose function is inside weft's own runtime plumbing may be kept; the caller decides what to
// skip. Returns nothing; never throws (catches and prints "\t<symbolizer failed: ...>").
void print_trace(std::ostream& out, void* const* pcs, int n);
}  // namespace weft::detail::trace
