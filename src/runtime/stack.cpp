// src/runtime/stack.cpp: goroutine stacks.
//
// A goroutine's stack is fixed-size (C++ frames cannot be moved, so stacks
// cannot grow as Go's do); the default is 64 KiB, go_options.stack_size asks
// for more. Sizes are rounded up to a power of two (a size class).
//
// Memory. Stacks are carved from slabs: one mmap of many stack slots, each
// [guard][stack]. Nothing is committed until touched, so a parked
// goroutine that used 2 KiB of stack costs one page. A goroutine gets a stack
// only when it first runs (proc.cpp), so a million queued goroutines cost
// only their Gs. Finished goroutines give their stack to their P's cache;
// the next goroutine to start takes the warm stack back (a fresh page costs
// 10-20 us to fault in on the VMs we measure on; a warm one costs nothing).
// Caches overflow into a global pool. The pool gives memory back to the
// kernel (MADV_DONTNEED: the reservation stays, and such a cold stack is
// reused before new slots are carved) in two ways: at once for stacks above
// a cap, and, when an M goes idle, for stacks that sat unused in the pool
// for 100-200 ms (two generations: `hot` and `aged`). Releasing on a busy
// path instead would make a program that frees and starts goroutines in
// waves (skynet) fault the same pages in again and again.
//
// Guards and vm.max_map_count. One mmap per stack plus an mprotect'ed
// guard would cost two mappings per goroutine: a stock kernel allows 65530,
// so a million goroutines would be impossible. Slabs hold at least 64 MiB of
// stacks (guards not counted), so a million 64 KiB stacks take about a
// thousand mappings. Guards are installed with MADV_GUARD_INSTALL (Linux
// 6.13+), which marks page-table entries and adds no mapping. On older
// kernels guards fall back to mprotect, which splits the slab's mapping: we
// spend at most a quarter of the mappings the kernel still allows on such
// guards; stacks past that budget run unguarded, with a canary word at their
// lowest address checked at every switch-out. That catches an overflow late
// (after it wrote below the stack) rather than at the faulting instruction:
// the trade-off is stated in docs/runtime.md.
//
// How large a guard. A function whose frame is larger than the guard can
// move its stack pointer past the whole guard and write into the stack below
// it, another goroutine's, without ever faulting: silent corruption. Code
// built with -fstack-clash-protection (weft's own, and its users' through
// the weft::weft target) touches every page of a large frame from the top
// down, so it faults in the first page of any guard. For code built without
// it, the guard is as large as the stack itself (64 KiB at least, 1 MiB at
// most): any frame that fits the stack, wherever it starts, lands in the
// stack or its guard. The cost is address space, which is cheap (a
// million default stacks reserve 128 GiB instead of 68), and, with
// MADV_GUARD_INSTALL, the page tables that cover the guards (256 bytes per
// default stack instead of 136); no memory a program uses, and no mapping.
// Above 1 MiB the guards' page tables would start to cost real memory, and
// frames that large are rare outside code built with the probe.
#include "runtime/stack.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

#include "platform/memory.hpp"
#include "platform/spin_futex_mutex.hpp"

namespace weft::detail {

namespace {

constexpr std::size_t slab_min_bytes = 64u << 20;  // of stacks, guards not counted
constexpr std::size_t min_guard_size = 64u << 10;
constexpr std::size_t max_guard_size = 1u << 20;
constexpr std::size_t slab_min_slots = 16;
constexpr std::size_t cache_max = 64;  // per P per class
constexpr std::size_t pool_max_stacks = 16384;  // hot + aged, before DONTNEED
constexpr std::int64_t scavenge_period_ns = 100'000'000;  // a generation in the pool
constexpr std::size_t release_batch = 4096;

struct slab {
  char* base;
  std::size_t bytes;
  std::size_t slot_bytes;
  std::size_t next_slot;
  std::size_t slots;
};

struct pool_t {
  spin_futex_mutex lock;
  std::deque<slab> slabs GUARDED_BY(lock);
  slab* current[stack_classes] GUARDED_BY(lock) = {};
  std::vector<stack> hot[stack_classes] GUARDED_BY(lock);  // freed recently
  std::vector<stack> aged[stack_classes] GUARDED_BY(lock);  // freed a generation ago
  std::vector<stack> cold[stack_classes] GUARDED_BY(lock);  // memory given back
  std::vector<stack> over_cap GUARDED_BY(lock);  // past the cap, memory not yet given back
  std::size_t warm_count GUARDED_BY(lock) = 0;  // hot + aged
  std::int64_t last_scavenge GUARDED_BY(lock) = 0;
  int guard_mode GUARDED_BY(lock) = -1;  // -1 unknown, 0 madvise, 1 mprotect
  long mprotect_budget GUARDED_BY(lock) = 0;
  stack_stats stats GUARDED_BY(lock);
};

pool_t& pool() {
  static pool_t* p = new pool_t;  // outlives every weft::run
  return *p;
}

// Makes [at, at + bytes) a guard.
bool install_guard(pool_t& pl, char* at, std::size_t bytes) REQUIRES(pl.lock) {
  if (pl.guard_mode == -1) {
    pl.guard_mode = os::mem_guard_install(at, bytes) == 0 ? 0 : 1;
    if (pl.guard_mode == 0) {
      ++pl.stats.guarded_by_madvise;
      return true;
    }
    pl.mprotect_budget = (os::max_map_count() - os::mapping_count()) / 4;
  } else if (pl.guard_mode == 0) {
    if (os::mem_guard_install(at, bytes) == 0) {
      ++pl.stats.guarded_by_madvise;
      return true;
    }
    return false;
  }
  if (pl.mprotect_budget <= 0) return false;
  if (os::mem_protect_none(at, bytes) != 0) return false;
  --pl.mprotect_budget;
  ++pl.stats.guarded_by_mprotect;
  return true;
}

stack carve(pool_t& pl, std::uint8_t cls) REQUIRES(pl.lock) {
  std::size_t size = stack_class_size(cls);
  std::size_t guard = stack_guard_size(cls);
  slab* s = pl.current[cls];
  if (s == nullptr || s->next_slot == s->slots) {
    std::size_t slot_bytes = guard + size;
    // As many stacks per slab (so per mapping) whatever the guard's size.
    std::size_t slots = std::max(slab_min_slots, slab_min_bytes / size);
    std::size_t bytes = slots * slot_bytes;
    int err = 0;
    void* base = os::mem_map(bytes, true, &err);
    if (base == nullptr) throw std::bad_alloc();
    os::mem_huge_pages(base, bytes, false);  // a huge page would commit 2 MiB per touched stack
    pl.slabs.push_back(slab{static_cast<char*>(base), bytes, slot_bytes, 0, slots});
    s = &pl.slabs.back();  // a deque: earlier slabs stay where they are
    pl.current[cls] = s;
    ++pl.stats.slabs;
  }
  char* slot = s->base + s->next_slot++ * s->slot_bytes;
  stack st;
  st.lo = slot + guard;
  st.hi = st.lo + size;
  st.cls = cls;
  st.guarded = install_guard(pl, slot, guard);
  if (!st.guarded) {
    std::memcpy(st.lo, &stack_canary, sizeof stack_canary);
    ++pl.stats.unguarded;
  }
  ++pl.stats.stacks_carved;
  return st;
}

}  // namespace

std::uint8_t stack_class_for(std::size_t request) {
  if (request == 0) request = default_stack_size;
  if (request < min_stack_size)
    throw std::invalid_argument("weft: go_options.stack_size " + std::to_string(request) + " is below the minimum of " +
                                std::to_string(min_stack_size) + " bytes");
  std::uint8_t cls = 0;
  while (stack_class_size(cls) < request) {
    if (++cls == stack_classes)
      throw std::invalid_argument("weft: go_options.stack_size " + std::to_string(request) +
                                  " is above the maximum of 1 GiB");
  }
  return cls;
}

std::size_t stack_class_size(std::uint8_t cls) noexcept { return min_stack_size << cls; }

std::size_t stack_guard_size(std::uint8_t cls) noexcept {
  return std::clamp(stack_class_size(cls), min_guard_size, max_guard_size);
}

stack stack_get(stack_cache* cache, std::uint8_t cls) {
  auto& mine = cache->free[cls];
  if (!mine.empty()) {
    stack s = mine.back();
    mine.pop_back();
    return s;
  }
  pool_t& pl = pool();
  lock_scope lk(pl.lock);
  // Refill half a cache at a time so the global lock is rare.
  for (std::size_t i = 0; i < cache_max / 2; ++i) {
    std::vector<stack>* from = !pl.hot[cls].empty()    ? &pl.hot[cls]
                               : !pl.aged[cls].empty() ? &pl.aged[cls]
                               : !pl.cold[cls].empty() ? &pl.cold[cls]
                                                       : nullptr;
    if (from == nullptr) {
      if (i == 0) mine.push_back(carve(pl, cls));
      break;
    }
    if (from != &pl.cold[cls]) --pl.warm_count;
    mine.push_back(from->back());
    from->pop_back();
  }
  stack s = mine.back();
  mine.pop_back();
  return s;
}

namespace {

// Gives the memory of a batch of stacks back to the kernel, merging stacks
// that sit next to each other in a slab into one madvise (one TLB shootdown
// instead of one per stack). Guard markers survive MADV_DONTNEED.
void release_memory(std::vector<stack>& batch) noexcept {
  std::sort(batch.begin(), batch.end(), [](const stack& a, const stack& b) { return a.lo < b.lo; });
  std::size_t i = 0;
  while (i < batch.size()) {
    char* from = batch[i].lo;
    char* to = batch[i].hi;
    std::size_t j = i + 1;
    while (j < batch.size() && batch[j].lo == to + stack_guard_size(batch[j].cls)) to = batch[j++].hi;
    os::mem_release(from, std::size_t(to - from));
    for (std::size_t k = i; k < j; ++k)
      if (!batch[k].guarded) std::memcpy(batch[k].lo, &stack_canary, sizeof stack_canary);
    i = j;
  }
}

// Releases the memory of `batch` and files the stacks as cold.
void give_back(pool_t& pl, std::vector<stack>& batch) noexcept {
  if (batch.empty()) return;
  release_memory(batch);
  lock_scope lk(pl.lock);
  try {
    for (const stack& x : batch) pl.cold[x.cls].push_back(x);
  } catch (...) {}
}

}  // namespace

void stack_put(stack_cache* cache, stack s) noexcept {
  auto& mine = cache->free[s.cls];
  try {
    mine.push_back(s);
  } catch (...) {
    return;  // out of memory for bookkeeping: the stack is leaked, not reused
  }
  if (mine.size() <= cache_max) return;
  // Spill half of the cache to the global pool under one lock.
  pool_t& pl = pool();
  std::vector<stack> to_release;
  {
    lock_scope lk(pl.lock);
    try {
      while (mine.size() > cache_max / 2) {
        stack x = mine.back();
        mine.pop_back();
        if (pl.warm_count < pool_max_stacks) {
          pl.hot[x.cls].push_back(x);
          ++pl.warm_count;
        } else {
          pl.over_cap.push_back(x);
        }
      }
      // Over the cap, memory goes back in large batches: one madvise per
      // run of neighbouring stacks, so a wave of exits (a million goroutines
      // released at once) costs a few thousand calls, not one per stack.
      if (pl.over_cap.size() >= release_batch) std::swap(to_release, pl.over_cap);
    } catch (...) {}
  }
  give_back(pl, to_release);
}

void stacks_scavenge(std::int64_t now) noexcept {
  pool_t& pl = pool();
  std::vector<stack> to_release;
  {
    lock_scope lk(pl.lock);
    if (now - pl.last_scavenge < scavenge_period_ns) return;
    pl.last_scavenge = now;
    try {
      std::swap(to_release, pl.over_cap);
      for (int c = 0; c < stack_classes; ++c) {
        to_release.insert(to_release.end(), pl.aged[c].begin(), pl.aged[c].end());
        pl.warm_count -= pl.aged[c].size();
        pl.aged[c].clear();
        std::swap(pl.aged[c], pl.hot[c]);
      }
    } catch (...) {}
  }
  give_back(pl, to_release);
}

void stack_flush(stack_cache* cache) noexcept {
  pool_t& pl = pool();
  lock_scope lk(pl.lock);
  for (auto& v : cache->free) {
    for (const stack& s : v) {
      try {
        pl.hot[s.cls].push_back(s);
        ++pl.warm_count;
      } catch (...) {}
    }
    v.clear();
  }
}

bool stack_canary_intact(const stack& s) noexcept {
  std::uint64_t v;
  std::memcpy(&v, s.lo, sizeof v);
  return v == stack_canary;
}

void stacks_release_all() noexcept {
  pool_t& pl = pool();
  lock_scope lk(pl.lock);
  for (auto& s : pl.slabs) os::mem_unmap(s.base, s.bytes);
  pl.slabs.clear();
  for (auto& c : pl.current) c = nullptr;
  for (auto& v : pl.hot) v.clear();
  for (auto& v : pl.aged) v.clear();
  for (auto& v : pl.cold) v.clear();
  pl.over_cap.clear();
  pl.warm_count = 0;
  int mode = pl.guard_mode;
  pl.stats = stack_stats{};
  pl.guard_mode = mode;
  if (mode == 1) pl.mprotect_budget = (os::max_map_count() - os::mapping_count()) / 4;
}

stack_stats stacks_stats() noexcept {
  pool_t& pl = pool();
  lock_scope lk(pl.lock);
  stack_stats st = pl.stats;
  for (int c = 0; c < stack_classes; ++c) {
    st.pooled_hot += pl.hot[c].size() + pl.aged[c].size();
    st.pooled_cold += pl.cold[c].size();
  }
  return st;
}

}  // namespace weft::detail
