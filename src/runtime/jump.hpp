// src/runtime/jump.hpp: the machine-level switch between two contexts.
//
// jump_context has jump_fcontext's contract (Boost.Context): it saves the
// caller's callee-saved registers on its stack, switches to `to` and returns
// {handle of the context left, data} when something jumps back. Contexts are
// made by Boost's make_fcontext, and the saved frame keeps Boost's layout
// (the stack tracer reads it: src/trace/stacktrace.cpp).
//
// On x86-64 weft has its own (jump_x86_64.cpp): Boost's loads the target's
// MXCSR and x87 control word at every switch (ldmxcsr and fldcw, two slow,
// partly serialising instructions) though they almost never differ; ours
// loads them only when their control bits do. Each context still keeps its
// own rounding mode and exception masks, as the ABI has a callee keep them.
// Elsewhere it is Boost's own.
//
// A goroutine starts with the floating-point controls of the thread that
// called weft::run, as they were then (fp_controls_capture, fp_controls_seed
// on each fresh context), not with those of whichever goroutine happened to
// run before its first switch (what make_fcontext alone records).
#pragma once

#include <boost/context/detail/fcontext.hpp>

namespace weft::detail {

#if defined(__x86_64__) && defined(__linux__)
void fp_controls_capture() noexcept;  // by weft::run, before any goroutine runs
void fp_controls_seed(boost::context::detail::fcontext_t fresh) noexcept;  // a context not yet run
extern "C" boost::context::detail::transfer_t weft_jump_context(boost::context::detail::fcontext_t to,
                                                                void* data) noexcept;
inline boost::context::detail::transfer_t jump_context(boost::context::detail::fcontext_t to, void* data) noexcept {
  return weft_jump_context(to, data);
}
#else
inline void fp_controls_capture() noexcept {}
inline void fp_controls_seed(boost::context::detail::fcontext_t) noexcept {}
inline boost::context::detail::transfer_t jump_context(boost::context::detail::fcontext_t to, void* data) noexcept {
  return boost::context::detail::jump_fcontext(to, data);
}
#endif

}  // namespace weft::detail
