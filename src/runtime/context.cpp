// src/runtime/context.cpp: switching between goroutines.
//
// Every switch goes through switch_to. The machine-level switch is
// jump_context (jump.hpp: Boost Context's jump_fcontext, or weft's own on
// x86-64, which skips reloading unchanged floating-point controls): it
// saves the callee-saved registers on the stack being left and hands the
// resulting pointer to the context being entered. That pointer is the old
// context's only handle, so the old G cannot be published (put in a run
// queue, a wait queue, a timer) until the new context has stored it: the
// entered context calls finish_switch first thing, which saves the handle
// and then performs the action the old G asked for (park: mark it waiting
// and release the lock that guards its wait queue; yield: queue it; exit:
// recycle its stack and G). This is what lets a goroutine switch directly
// to the next one, with no detour through the scheduler's own stack,
// without a window in which another M could resume a G whose registers are
// not saved yet.
//
// Around the jump: the C++ exception globals of the thread (the stack of
// caught exceptions and the uncaught count) are saved into the old G and
// loaded from the new one, so `throw;`, std::current_exception and
// std::uncaught_exceptions see the goroutine's own state; ASan and TSan are
// told (sanitizers.hpp); an unguarded stack's canary is checked.
#include <boost/context/detail/fcontext.hpp>
#include <cxxabi.h>
#include <mutex>
#include <new>
#include <string>

#include "platform/futex.hpp"
#include "runtime/jump.hpp"
#include "runtime/gslab.hpp"
#include "runtime/runq.hpp"
#include "runtime/sanitizers.hpp"

namespace weft::detail {

namespace bctx = boost::context::detail;

namespace {

thread_local m* tls_m = nullptr;

void g_entry(bctx::transfer_t t);

// A stack without a guard page (stack.cpp) is checked at each switch away
// from it; the caller has looked at `guarded`.
void check_canary(g* gp) {
  if (!gp->is_g0 && gp->stk.lo && !stack_canary_intact(gp->stk)) {
    fatal("goroutine " + std::to_string(gp->id) + " overflowed its " + std::to_string(gp->stk.size()) +
          "-byte stack (detected late: this stack has no guard page)\n"
          "  raise it with weft::go(weft::go_options{.stack_size = " +
          std::to_string(gp->stk.size() * 2) + "}, ...)");
  }
}

}  // namespace

#if defined(__clang__)
#define WEFT_TLS_ACCESSOR __attribute__((noinline))
#else
#define WEFT_TLS_ACCESSOR __attribute__((noinline, noipa))
#endif

WEFT_TLS_ACCESSOR m* this_m() noexcept {
  m* r = tls_m;
  asm volatile("" : "+r"(r));  // the value, not its address, leaves this function
  return r;
}
WEFT_TLS_ACCESSOR void set_this_m(m* mp) noexcept {
  tls_m = mp;
  // Looked up once per thread: __cxa_get_globals is a call into libstdc++
  // and a TLS lookup, too slow for every switch.
  if (mp) mp->eh = reinterpret_cast<eh_globals*>(abi::__cxa_get_globals());
}
WEFT_TLS_ACCESSOR g* this_g() noexcept {
  m* mp = tls_m;
  return mp ? mp->curg : nullptr;
}

void prepare_first_run(p* pp, g* gp) {
  try {
    gp->stk = stack_get(&pp->stacks, gp->stack_request);
  } catch (const std::bad_alloc&) {
    // weft::go returned long ago: nobody is left to throw to. Go, too, ends
    // the program when it has no memory for a stack.
    std::string name = g_name(gp);
    fatal("out of memory: no " + std::to_string(stack_class_size(gp->stack_request)) + "-byte stack for goroutine " +
          std::to_string(gp->id) + (name.empty() ? "" : " \"" + name + "\""));
  }
  gp->ctx = bctx::make_fcontext(gp->stk.hi, gp->stk.size(), g_entry);
  fp_controls_seed(gp->ctx);
  set_san(gp, san::fiber_create());
  gp->eh = eh_globals{};
}

void switch_to(m* mp, g* from, g* to) {
  mp->prev = from;
  if (to->is_g0) {
    mp->curg = nullptr;
  } else {
    if (to->stk.lo == nullptr) prepare_first_run(mp->pp, to);
    to->status.store(g_running, std::memory_order_relaxed);
    mp->curg = to;
    if (p* pp = mp->pp) pp->switches.store(pp->switches.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (tracing()) trace_record_start(mp, to);
    if (gstats_enabled()) gstats_start(to);
  }
  eh_globals* eh = mp->eh;
  from->eh = *eh;
  *eh = to->eh;
  if (!from->stk.guarded && mp->action != after_switch::exit) check_canary(from);
  san::start_switch(mp->action == after_switch::exit ? nullptr : san_slot(from), to->stk.lo, to->stk.size());
  san::fiber_switch(san_of(to));
  bctx::transfer_t t = jump_context(to->ctx, nullptr);
  finish_switch(t.fctx);
}

void finish_switch(void* from_ctx) {
  m* mp = this_m();  // not the M we left from, possibly
  g* self = mp->curg ? mp->curg : &mp->g0;
  san::fiber_arrived();
  san::finish_switch(san_of(self));
  g* prev = mp->prev;
  prev->ctx = from_ctx;
  after_switch action = mp->action;
  mp->action = after_switch::none;
  switch (action) {
    case after_switch::none: break;
    case after_switch::park: {
      void (*unlock)(void*) = mp->park_unlock;
      void* arg = mp->park_arg;
      mp->park_unlock = nullptr;
      // Before its status says waiting: from then on a waker may ready it.
      if (gstats_enabled())
        gstats_stop(prev, prev->wait_label ? prev->wait_label : prev->wait_reason ? prev->wait_reason : "blocked");
      prev->status.store(g_waiting, std::memory_order_release);
      trace_ev(mp, ev::go_block, prev->id, 0, prev->wait_reason);
      if (unlock) unlock(arg);  // from here on, prev may be readied
      // Timers that park skipped (fire functions may take the lock just
      // released), before this context goes on.
      if (mp->pp) run_due_timers_owned(mp->pp);
      mp->now_hint = 0;  // unused when nothing was near due: never older than this park
      break;
    }
    case after_switch::yield:
      prev->status.store(g_runnable, std::memory_order_release);
      trace_ev(mp, ev::go_yield, prev->id);
      if (gstats_enabled()) gstats_stop(prev, nullptr);
      runq_put(mp->pp, prev, false);
      break;
    case after_switch::requeue: {
      prev->status.store(g_runnable, std::memory_order_release);
      trace_ev(mp, ev::go_yield, prev->id);
      if (gstats_enabled()) gstats_stop(prev, nullptr);
      {
        lock_scope lk(sched.lock);
        globrunq_put(prev);
      }
      wakep();
      break;
    }
    case after_switch::exit:
      san::fiber_destroy(san_of(prev));
      stack_put(&mp->pp->stacks, prev->stk);
      trace_ev(mp, ev::go_end, prev->id);
      if (gstats_enabled()) gstats_end(mp->pp, prev);
      g_put(mp->pp, prev);  // g_reset: forgets the stack, context and fiber
      break;
  }
}

namespace {

void g_entry(bctx::transfer_t t) {
  finish_switch(t.fctx);
  g* gp = this_g();
  gp->ever_ran = true;
  // No try/catch here: an exception that escapes the body finds no handler
  // (nothing above this frame has unwind information), so the C++ runtime
  // calls std::terminate with the thrower's frames still on the stack, and
  // the panic handler (fatal.cpp) prints the trace from where it was thrown.
  gp->ops->invoke(gp->closure);
  goexit();
}

}  // namespace

}  // namespace weft::detail
