// src/trace/cfi_unwind.hpp: a parked goroutine's stack unwound from
// memoized .eh_frame rules (issue 16: a dump of 100,000 parked goroutines
// within 1 s). Design in cfi_unwind.cpp.
#pragma once

#include <cstdint>
#include <unordered_map>

struct Dwarf_Frame_s;  // libdw's Dwarf_Frame

namespace weft::detail::trace {

// How to step from a frame at one code address to its caller, as the
// address's CFI row says, for the registers a parked stack needs: the CFA
// is a tracked register plus an offset; each tracked callee-saved register
// and the return address is unchanged, unknown, or saved at CFA + offset.
struct step_rule {
  enum class kind : std::uint8_t {
    libunwind,  // no CFI, or a rule this model does not cover: libunwind walks the stack
    step,  // the fields below say how to step
  };
  enum class saved : std::uint8_t { same, undefined, at_cfa };
  // Tracked registers, in this order: rbx, rbp, r12-r15, then the return
  // address (rip).
  static constexpr int regs = 7;
  static constexpr int ra = 6;
  kind what = kind::libunwind;
  bool ends = false;  // the caller's predicate said the walk stops after this pc
  std::int8_t cfa_reg = -1;  // index among the tracked registers, or rsp_index
  std::int64_t cfa_off = 0;
  saved how[regs] = {};
  std::int64_t off[regs] = {};
};
inline constexpr std::int8_t rsp_index = 7;

// Per-dump memo: code address (the pc looked up, a return address - 1) ->
// its rule. Never global: a rule is computed under the symbolizer's lock.
using step_rules = std::unordered_map<std::uintptr_t, step_rule>;

// Unwinds the parked fcontext `fctx` (layout in stacktrace.hpp) whose stack
// is [lo, hi), storing up to `max` pcs, and stops after a pc for which
// `ends(pc)` is true (asked once per pc; a dump stops at g_entry, below
// which it prints nothing). Returns the pcs stored, or -1 when a frame
// needs libunwind (no CFI, a rule not modelled, a read outside the stack):
// the caller then walks the whole stack with libunwind. Up to the stop, the
// pcs are those of capture_fcontext's libunwind walk
// (tests/trace/cfi_unwind_test.cpp). REQUIRES: the context stays suspended
// while this runs; not in a signal handler (a first rule is computed under
// the symbolizer's lock).
int unwind_parked(const void* fctx, const void* lo, const void* hi, void** pcs, int max, step_rules* rules,
                  bool (*ends)(void* pc));

// The rule for the code address `addr` from its module's .eh_frame
// (stacktrace.cpp, which owns the libdw session; it calls rule_from_frame
// under its lock).
step_rule rule_for(std::uintptr_t addr);
step_rule rule_from_frame(Dwarf_Frame_s* frame);

}  // namespace weft::detail::trace
