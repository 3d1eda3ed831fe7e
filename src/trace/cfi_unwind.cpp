// src/trace/cfi_unwind.cpp: unwinding parked goroutines from memoized CFI
// rules (issue 16).
//
// Why: libunwind 1.6 (Debian 12) costs several system calls per unw_step:
// its global unwind cache is locked with every signal blocked (two
// sigprocmask calls), and under CONSERVATIVE_CHECKS it validates each new
// stack page it reads (mincore, or a write to a pipe and a read back). A
// dump of 100,000 goroutines parked at a few places did millions of them:
// 2-3 s. Rejected: UNW_CACHE_PER_THREAD (this build has no thread-local
// cache, so that policy uses the global cache without its lock: a race with
// a panic unwinding on another thread) and UNW_CACHE_NONE (every step then
// searches the FDE again, under the same blocked signals).
//
// What: a frame's step to its caller is a function of its pc's CFI row
// and the registers: CFA = reg + offset; each callee-saved register is
// unchanged, lost, or saved at CFA + offset; the caller's rsp is the CFA
// and its pc the return address saved at CFA + offset. That row depends
// on the pc only, so it is read once per distinct pc (rule_for, through
// libdw's .eh_frame reader, the same section libunwind reads) and kept for
// the dump; each goroutine then costs a few loads per frame.
//
// Invariants: the same pcs as libunwind's walk (stacktrace.cpp's walk) up
// to the stop: a pc is looked up as pc - 1 (a return address; the saved
// rip of an fcontext is one too), the walk ends where the return address
// is undefined or is 0, and where the stack pointer does not grow. Anything
// outside the model (an expression rule, a register rule, a signal frame, a
// pc without CFI, a CFA from a register this walk lost, a read outside
// [lo, hi)) gives the whole stack back to libunwind (-1), which knows the
// heuristics (x86_64's rbp guess at a frame without CFI) this does not.
// Reads stay inside the goroutine's own stack, which is mapped while it
// is held parked.
#include "trace/cfi_unwind.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstring>

namespace weft::detail::trace {

namespace {

// Our tracked index of DWARF register r (x86_64 numbering), or -1.
int tracked(Dwarf_Word r) {
  switch (r) {
    case 3: return 0;  // rbx
    case 6: return 1;  // rbp
    case 12:
    case 13:
    case 14:
    case 15: return static_cast<int>(r) - 10;  // r12-r15 -> 2-5
    case 7: return rsp_index;
    default: return -1;
  }
}

constexpr int dwarf_of[step_rule::regs - 1] = {3, 6, 12, 13, 14, 15};

// Reads a register's rule; false if it is not one this model covers.
bool read_saved(Dwarf_Frame* frame, int regno, step_rule::saved* how, std::int64_t* off) {
  Dwarf_Op mem[3];
  Dwarf_Op* ops = nullptr;
  std::size_t nops = 0;
  if (dwarf_frame_register(frame, regno, mem, &ops, &nops) != 0) return false;
  if (nops == 0) {
    *how = ops == nullptr ? step_rule::saved::same : step_rule::saved::undefined;
    return true;
  }
  if (ops[0].atom != DW_OP_call_frame_cfa) return false;
  *how = step_rule::saved::at_cfa;
  if (nops == 1) {
    *off = 0;
    return true;
  }
  if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
    *off = static_cast<std::int64_t>(ops[1].number);  // two's complement: a negative offset wraps
    return true;
  }
  if (nops == 3 && ops[1].atom == DW_OP_consts && ops[2].atom == DW_OP_plus) {
    *off = static_cast<std::int64_t>(ops[1].number);
    return true;
  }
  return false;  // a value rule (DW_OP_stack_value) or an expression
}

}  // namespace

step_rule rule_from_frame(Dwarf_Frame_s* frame) {
  step_rule r;
  Dwarf_Addr start = 0, end = 0;
  bool signal = false;
  const int ra = dwarf_frame_info(frame, &start, &end, &signal);
  if (ra < 0 || signal) return r;
  Dwarf_Op* ops = nullptr;
  std::size_t nops = 0;
  if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops != 1) return r;
  Dwarf_Word reg = 0;
  if (ops[0].atom == DW_OP_bregx) {
    reg = ops[0].number;
    r.cfa_off = static_cast<std::int64_t>(ops[0].number2);
  } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
    reg = ops[0].atom - DW_OP_breg0;
    r.cfa_off = static_cast<std::int64_t>(ops[0].number);
  } else {
    return r;
  }
  const int cfa_reg = tracked(reg);
  if (cfa_reg < 0) return r;
  r.cfa_reg = static_cast<std::int8_t>(cfa_reg);
  for (int i = 0; i < step_rule::regs - 1; ++i)
    if (!read_saved(frame, dwarf_of[i], &r.how[i], &r.off[i])) return r;
  if (!read_saved(frame, ra, &r.how[step_rule::ra], &r.off[step_rule::ra])) return r;
  if (r.how[step_rule::ra] == step_rule::saved::same) return r;  // not a call frame
  r.what = step_rule::kind::step;
  return r;
}

int unwind_parked(const void* fctx, const void* lo, const void* hi, void** pcs, int max, step_rules* rules,
                  bool (*ends)(void* pc)) {
  const auto low = reinterpret_cast<std::uintptr_t>(lo);
  const auto high = reinterpret_cast<std::uintptr_t>(hi);
  const auto base = reinterpret_cast<std::uintptr_t>(fctx);
  auto in_stack = [&](std::uintptr_t a) { return a >= low && a < high && high - a >= 8; };
  if (fctx == nullptr || pcs == nullptr || max <= 0 || !in_stack(base) || !in_stack(base + 0x38)) return -1;
  // 0-5: rbx, rbp, r12-r15; 6: rip; 7: rsp. The layout jump_fcontext pushes.
  std::uint64_t saved[8];
  std::memcpy(saved, fctx, sizeof saved);
  std::uint64_t r[8] = {saved[5], saved[6], saved[1], saved[2], saved[3], saved[4], saved[7], base + 0x40};
  bool known[8] = {true, true, true, true, true, true, true, true};
  int n = 0;
  while (n < max) {
    const std::uint64_t ip = r[6], sp = r[7];
    if (ip == 0) break;  // end of the chain
    pcs[n++] = reinterpret_cast<void*>(ip);
    if (n == max) break;
    auto it = rules->find(ip - 1);
    if (it == rules->end()) {
      step_rule fresh = rule_for(ip - 1);
      fresh.ends = ends != nullptr && ends(reinterpret_cast<void*>(ip));
      it = rules->emplace(ip - 1, fresh).first;
    }
    const step_rule& rule = it->second;
    if (rule.ends) break;
    if (rule.what != step_rule::kind::step || !known[rule.cfa_reg]) return -1;
    const std::uint64_t cfa = r[rule.cfa_reg] + static_cast<std::uint64_t>(rule.cfa_off);
    std::uint64_t next[8];
    bool next_known[8];
    for (int i = 0; i < step_rule::regs; ++i) {
      next[i] = r[i];
      next_known[i] = known[i];
      if (rule.how[i] == step_rule::saved::undefined) {
        next_known[i] = false;
      } else if (rule.how[i] == step_rule::saved::at_cfa) {
        const std::uint64_t at = cfa + static_cast<std::uint64_t>(rule.off[i]);
        if (!in_stack(at)) return -1;
        std::memcpy(&next[i], reinterpret_cast<const void*>(at), sizeof next[i]);
        next_known[i] = true;
      }
    }
    if (!next_known[6]) break;  // the return address is undefined: the outermost frame
    next[7] = cfa;
    next_known[7] = true;
    if (cfa <= sp) break;  // a loop or garbage, not a caller (as walk())
    std::memcpy(r, next, sizeof r);
    std::memcpy(known, next_known, sizeof known);
  }
  return n;
}

}  // namespace weft::detail::trace
