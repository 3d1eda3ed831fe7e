// src/runtime/sanitizers.hpp: telling ASan and TSan about every stack switch.
//
// ASan keeps a shadow of "the" stack and TSan a per-thread history; both are
// wrong after a context switch unless told. Every switch in weft goes through
// switch_to (context.cpp), which calls these hooks; they compile to nothing in
// plain builds.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(WEFT_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>

#include "platform/signals.hpp"
#endif

namespace weft::detail::san {

// ASan: call before leaving a stack for one at [bottom, bottom+size).
// fake_stack_save is null when the stack being left will never run again.
inline void start_switch(void** fake_stack_save, const void* bottom, std::size_t size) {
#if defined(WEFT_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save, (void)bottom, (void)size;
#endif
}
// ASan: the frames at [lo, lo+size) are gone without returning: a
// goroutine abandoned, parked, when main returned. Their redzones would stay
// poisoned in ASan's shadow after the run unmaps the stack, and the next
// run that maps a stack at that address would have its first stores there
// reported as overflows of frames that are long gone.
inline void forget_frames(void* lo, std::size_t size) {
#if defined(WEFT_ASAN)
  __asan_unpoison_memory_region(lo, size);
#else
  (void)lo, (void)size;
#endif
}
// ASan: call first thing after arriving on a stack.
inline void finish_switch(void* fake_stack_save) {
#if defined(WEFT_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_save, nullptr, nullptr);
#else
  (void)fake_stack_save;
#endif
}

// TSan: each goroutine is a TSan fiber.
inline void* fiber_current() {
#if defined(WEFT_TSAN)
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}
inline void* fiber_create() {
#if defined(WEFT_TSAN)
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
inline void fiber_destroy(void* f) {
#if defined(WEFT_TSAN)
  if (f) __tsan_destroy_fiber(f);
#else
  (void)f;
#endif
}
// TSan and asynchronous signals (SIGTERM for weft::on_shutdown): TSan's
// handler runs the program's at once only on a thread inside a blocking
// interceptor; elsewhere it stores the signal in the running fiber's state
// and runs it at that fiber's next intercepted call. Two ways that lost a
// SIGTERM (CI, about 1 run in 70 under load; found with a kernel-level
// handler that recorded where each signal landed):
//   - A goroutine that parked for good just after the signal came held it
//     for ever. So a switch runs with asynchronous signals blocked on its
//     thread: blocking them is an intercepted call (it runs what the fiber
//     being left has pending), and unblocking them, first thing on the
//     fiber that arrives (fiber_arrived), runs one that came in between.
//   - TSan (LLVM 14) makes a thread's or fiber's signal state lazily, at
//     its first blocking call, without a compare-and-swap: a signal landing
//     while it is made is stored in a second state that the first then
//     overwrites. An M's first poll hit it. So each M makes its state as
//     it starts, with signals blocked (signal_state_init), by an
//     intercepted kill(pid, 0). Goroutines do not: the state is a 70 KiB
//     mapping, and 20,000 goroutines ran out of mappings. A goroutine's
//     own first blocking call (rare: Ms do the polling and sleeping) can
//     still lose a signal that lands during it.
// All of it is system calls in TSan builds only.
#if defined(WEFT_TSAN)
inline thread_local sigset_t mask_before_switch;
#endif
[[gnu::always_inline]] inline void fiber_switch(void* f) {
#if defined(WEFT_TSAN)
  os::block_async_signals(&mask_before_switch);
  if (f) __tsan_switch_to_fiber(f, 0);
#else
  (void)f;
#endif
}
// The other half, first thing on the fiber switched to (same thread).
[[gnu::always_inline]] inline void fiber_arrived() {
#if defined(WEFT_TSAN)
  os::thread_sigmask_set(mask_before_switch);
#endif
}
// An M's thread, as it starts: makes its signal state with signals blocked.
inline void signal_state_init() {
#if defined(WEFT_TSAN)
  sigset_t before;
  os::block_async_signals(&before);
  os::touch_signal_state();
  os::thread_sigmask_set(before);
#endif
}

// LSan (ASan builds): what an abandoned goroutine held is not released, by
// design (docs/runtime.md, "Ending"), but its stack is unmapped and its
// closure's bytes reused, so LSan would see the objects it pointed to (a
// captured channel, a local's heap block) as leaks whenever a goroutine is
// still finishing when main returns. keep_for_leak_checker copies such
// memory into blocks reachable from a global: LSan then counts what it
// points to as held, as the design says it is. Plain and TSan builds keep
// nothing.
#if defined(WEFT_ASAN)
inline constexpr bool keeps_for_leak_checker = true;
#else
inline constexpr bool keeps_for_leak_checker = false;
#endif
[[gnu::no_sanitize_address]] inline void copy_unchecked(char* to, const char* from, std::size_t n) {
  // A parked stack's frames hold ASan redzones: an instrumented memcpy
  // would report reading them.
  for (std::size_t i = 0; i < n; ++i) to[i] = static_cast<const volatile char*>(from)[i];
}
#if defined(WEFT_ASAN)
inline std::vector<void*>& kept_blocks() {
  static auto* kept = new std::vector<void*>;  // never freed: the root LSan scans
  return *kept;
}
#endif
inline void keep_for_leak_checker(const void* p, std::size_t n) {
#if defined(WEFT_ASAN)
  if (p == nullptr || n == 0) return;
  void* copy = std::malloc(n);
  if (copy == nullptr) return;
  copy_unchecked(static_cast<char*>(copy), static_cast<const char*>(p), n);
  kept_blocks().push_back(copy);
#else
  (void)p, (void)n;
#endif
}
// Keeps the block itself (a closure on the heap), not a copy.
inline void keep_block_for_leak_checker(void* block) {
#if defined(WEFT_ASAN)
  kept_blocks().push_back(block);
#else
  (void)block;
#endif
}

}  // namespace weft::detail::san
