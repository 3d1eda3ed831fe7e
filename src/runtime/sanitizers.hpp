// src/runtime/sanitizers.hpp: telling ASan and TSan about every stack switch.
//
// ASan keeps a shadow of "the" stack and TSan a per-thread history; both are
// wrong after a context switch unless told. Every switch in weft goes through
// switch_to (context.cpp), which calls these hooks; they compile to nothing in
// plain builds.
#pragma once

#include <cstddef>

#if defined(WEFT_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
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
[[gnu::always_inline]] inline void fiber_switch(void* f) {
#if defined(WEFT_TSAN)
  if (f) __tsan_switch_to_fiber(f, 0);
#else
  (void)f;
#endif
}

}  // namespace weft::detail::san
