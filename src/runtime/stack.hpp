// src/runtime/stack.hpp: goroutine stacks. Design at the top of stack.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::detail {

constexpr std::size_t page_size = 4096;
constexpr std::size_t min_stack_size = 16 * 1024;
constexpr std::size_t default_stack_size = 64 * 1024;
constexpr std::size_t main_stack_size = 1024 * 1024;
constexpr int stack_classes = 17;  // 16 KiB << 0 .. 16 KiB << 16 (1 GiB)

// A usable stack [lo, hi). When guarded, the stack_guard_size(cls) bytes
// below lo fault.
struct stack {
  char* lo = nullptr;
  char* hi = nullptr;
  std::uint8_t cls = 0;
  bool guarded = false;
  std::size_t size() const noexcept { return std::size_t(hi - lo); }
};

// A P's private cache of free stacks, per size class.
struct stack_cache {
  std::vector<stack> free[stack_classes];
};

// The size class for a requested size (0: the default). Throws
// std::invalid_argument below min_stack_size or above 1 GiB.
std::uint8_t stack_class_for(std::size_t request);
// stack_class_for(0), known at compile time (class c is 16 KiB << c).
constexpr std::uint8_t default_stack_class() noexcept {
  std::uint8_t cls = 0;
  while ((min_stack_size << cls) < default_stack_size) ++cls;
  return cls;
}
std::size_t stack_class_size(std::uint8_t cls) noexcept;
// The no-access gap below a stack of class cls: as large as the stack
// itself (so that no frame that fits the stack can step over it into the
// stack below), at least 64 KiB, at most 1 MiB. Design in stack.cpp.
std::size_t stack_guard_size(std::uint8_t cls) noexcept;

// Throws std::bad_alloc when no memory can be mapped for a new slab (its
// one caller, prepare_first_run, turns that into a fatal error).
stack stack_get(stack_cache* cache, std::uint8_t cls);
void stack_put(stack_cache* cache, stack s) noexcept;
void stack_flush(stack_cache* cache) noexcept;  // gives a cache back to the global pool

// Unguarded stacks (when the kernel cannot add guard pages) carry a canary
// at lo, checked when their goroutine switches out.
constexpr std::uint64_t stack_canary = 0x57e5f7ac4c0ffee5ull;
bool stack_canary_intact(const stack& s) noexcept;

// Gives back the memory of stacks that sat unused in the global pool for a
// generation (100-200 ms). Cheap when called often; called by idle Ms.
void stacks_scavenge(std::int64_t now_ns) noexcept;

// Unmaps every slab. REQUIRES: no goroutine runs (end of weft::run).
void stacks_release_all() noexcept;

struct stack_stats {
  std::size_t slabs = 0, stacks_carved = 0, guarded_by_madvise = 0, guarded_by_mprotect = 0, unguarded = 0,
              pooled_hot = 0, pooled_cold = 0;
};
stack_stats stacks_stats() noexcept;

}  // namespace weft::detail
