// src/runtime/jump_x86_64.cpp: weft_jump_context, see jump.hpp.
//
// The frame it leaves on the stack it switches away from is Boost's (x86-64
// System V, 0x40 bytes): +0x00 MXCSR, +0x04 x87 control word, +0x08 r12,
// r13, r14, r15, rbx, rbp, +0x38 the return address. So a context made by
// Boost's make_fcontext starts here exactly as under jump_fcontext: its
// trampoline is the return address and the entry function is in rbx. The
// returned transfer_t is {rax: the context left, rdx: data}; a fresh
// context's entry receives the same pair in rdi and rsi.
//
// The floating-point control state (MXCSR bits 6-15, the whole x87 control
// word) is loaded only when it differs from the state being left: a
// goroutine that changed its rounding mode or exception masks gets its own
// back, and every other switch skips two slow loads. MXCSR's bits 0-5 are
// sticky exception flags, which the ABI does not ask a callee to keep: they
// stay the thread's.
#if defined(__x86_64__) && defined(__linux__)

#include <cstdint>
#include <cstring>

#include "runtime/jump.hpp"

namespace weft::detail {

namespace {
// MXCSR at bytes 0-3, the x87 control word at 4-5: the frame's first word.
std::uint32_t run_mxcsr = 0x1f80;  // the power-on defaults until captured
std::uint16_t run_fpucw = 0x037f;
}  // namespace

void fp_controls_capture() noexcept {
  asm volatile("stmxcsr %0" : "=m"(run_mxcsr));
  asm volatile("fnstcw %0" : "=m"(run_fpucw));
  run_mxcsr &= ~0x3fu;  // the sticky exception flags are not a control
}

void fp_controls_seed(boost::context::detail::fcontext_t fresh) noexcept {
  auto* frame = static_cast<unsigned char*>(fresh);
  std::memcpy(frame, &run_mxcsr, sizeof run_mxcsr);
  std::memcpy(frame + 4, &run_fpucw, sizeof run_fpucw);
}

}  // namespace weft::detail

asm(R"(
  .text
  .globl weft_jump_context
  .hidden weft_jump_context
  .type weft_jump_context, @function
  .p2align 4
weft_jump_context:
  leaq -0x38(%rsp), %rsp
  stmxcsr (%rsp)
  fnstcw 0x4(%rsp)
  movq %r12, 0x8(%rsp)
  movq %r13, 0x10(%rsp)
  movq %r14, 0x18(%rsp)
  movq %r15, 0x20(%rsp)
  movq %rbx, 0x28(%rsp)
  movq %rbp, 0x30(%rsp)
  movq (%rsp), %r9
  movq %rsp, %rax
  movq %rdi, %rsp
  movq 0x38(%rsp), %r8
  xorq (%rsp), %r9
  movabsq $0xffffffffffc0, %r10
  testq %r10, %r9
  jz 1f
  ldmxcsr (%rsp)
  fldcw 0x4(%rsp)
1:
  movq 0x8(%rsp), %r12
  movq 0x10(%rsp), %r13
  movq 0x18(%rsp), %r14
  movq 0x20(%rsp), %r15
  movq 0x28(%rsp), %rbx
  movq 0x30(%rsp), %rbp
  leaq 0x40(%rsp), %rsp
  movq %rsi, %rdx
  movq %rax, %rdi
  jmp *%r8
  .size weft_jump_context, .-weft_jump_context
)");

#endif
