// src/runtime/gslab.cpp: G allocation.
//
// Gs are carved from 2 MiB chunks and recycled through per-P free lists that
// spill into a global one. A chunk is carved as Gs are needed, a few dozen
// at a time, and a free G is always taken before a fresh one: a program with
// few goroutines touches a few pages of it, not 2 MiB (a circuit worker is
// such a program, and its start is on spawn's path). Every chunk but the
// first comes committed, in small pages, from gslab_spare.cpp, which makes
// the next one ahead on another thread: a million queued goroutines needed
// ~256 MB of Gs, and how much faulting them in costs, page by page or in
// huge pages, swung 5x between runs on the VMs we measure on (the numbers
// are there). Most queued goroutines now wait as 64-byte records instead
// (freshq.hpp), their Gs back on the free lists, so such a burst cycles a
// few hundred Gs.
// A G is never returned to the system while the process lives, which is
// what lets a goroutine dump walk every chunk without racing with frees:
// that walk is the list of all goroutines, so spawning registers nothing
// anywhere.
#include "runtime/gslab.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "platform/memory.hpp"
#include "platform/spin_futex_mutex.hpp"
#include "runtime/gslab_spare.hpp"
#include "runtime/sanitizers.hpp"

namespace weft::detail {

namespace {
// Guards every g::extra pointer's creation and deletion (and dumps' reads of
// a name): rare events, so one lock for all Gs.
spinlock extra_lock;
}  // namespace

g_extra& g::extras() {
  lock_scope lk(extra_lock);
  if (!extra) extra = new g_extra;
  return *extra;
}

std::string g_name(g* gp) {
  lock_scope lk(extra_lock);
  return gp->extra ? gp->extra->name : std::string();
}

namespace {

constexpr std::size_t chunk_bytes = gslab_spare_bytes;
constexpr std::size_t gs_per_chunk = chunk_bytes / sizeof(g);
constexpr int local_max = 64;

struct gslab_t {
  spin_futex_mutex lock;
  std::vector<g*> chunks GUARDED_BY(lock);  // each gs_per_chunk Gs, the last one maybe not all carved
  std::size_t carved_in_last GUARDED_BY(lock) = 0;  // Gs constructed in chunks.back()
  g* free GUARDED_BY(lock) = nullptr;
  std::size_t nfree GUARDED_BY(lock) = 0;
};

gslab_t& slab() {
  static gslab_t* s = new gslab_t;  // outlives every weft::run
  return *s;
}

// The Gs constructed in chunk i: all of them but in the last chunk.
std::size_t carved(const gslab_t& s, std::size_t i) REQUIRES(s.lock) {
  return i + 1 < s.chunks.size() ? gs_per_chunk : s.carved_in_last;
}

g* carve_one(gslab_t& s) REQUIRES(s.lock) {
  if (s.chunks.empty() || s.carved_in_last == gs_per_chunk) {
    void* mem = nullptr;
    if (s.chunks.empty()) {
      int err = 0;
      mem = os::mem_map(chunk_bytes, false, &err);
    } else {
      mem = gslab_take_spare();
    }
    if (mem == nullptr) throw std::bad_alloc();
    s.chunks.push_back(static_cast<g*>(mem));
    s.carved_in_last = 0;
  }
  return ::new (&s.chunks.back()[s.carved_in_last++]) g;
}

}  // namespace

void g_reset(g* gp) {
  gp->ctx = nullptr;
  gp->schedlink = nullptr;
  gp->ever_ran = false;
  gp->stack_request = 0;
  gp->stk = stack{};
  gp->eh = eh_globals{};
  set_san(gp, nullptr);
  gp->ops = nullptr;
  if (gp->closure && gp->closure != gp->inline_buf) std::free(gp->closure);
  gp->closure = nullptr;
  gp->wait_reason = nullptr;
  gp->home = nullptr;
  gp->lock_count = 0;
  gp->locker = nullptr;
  gp->parks_soon = false;
  gp->readied_into_empty_p = false;
  gp->parked_soon = 0;
  gp->ready_lazily = false;  // a link's writer sets it for its whole life
  gp->blocking_file.store(nullptr, std::memory_order_relaxed);
  gp->blocking_function.store(nullptr, std::memory_order_relaxed);
  gp->blocking_line.store(0, std::memory_order_relaxed);
  gp->home_tid.store(0, std::memory_order_relaxed);
  gp->control.store(0, std::memory_order_relaxed);
  gp->creation_pc.store(nullptr, std::memory_order_relaxed);
  gp->parent_id.store(0, std::memory_order_relaxed);
  if (gp->extra) {
    lock_scope lk(extra_lock);
    delete gp->extra;
    gp->extra = nullptr;
  }
  gp->status.store(g_unused, std::memory_order_relaxed);
}

g* g_get(p* pp) {
  if (pp->free_gs == nullptr) {
    gslab_t& s = slab();
    lock_scope lk(s.lock);
    for (int i = 0; i < local_max / 2; ++i) {
      g* gp = s.free;
      if (gp != nullptr) {
        s.free = gp->schedlink;
        --s.nfree;
      } else {
        gp = carve_one(s);
      }
      gp->schedlink = pp->free_gs;
      pp->free_gs = gp;
      ++pp->nfree_gs;
    }
  }
  g* gp = pp->free_gs;
  pp->free_gs = gp->schedlink;
  --pp->nfree_gs;
  gp->schedlink = nullptr;
  return gp;
}

void g_put(p* pp, g* gp) {
  g_reset(gp);
  if (pp == nullptr) {
    gslab_t& s = slab();
    lock_scope lk(s.lock);
    gp->schedlink = s.free;
    s.free = gp;
    ++s.nfree;
    return;
  }
  gp->schedlink = pp->free_gs;
  pp->free_gs = gp;
  if (++pp->nfree_gs > local_max) {
    gslab_t& s = slab();
    lock_scope lk(s.lock);
    while (pp->nfree_gs > local_max / 2) {
      g* x = pp->free_gs;
      pp->free_gs = x->schedlink;
      --pp->nfree_gs;
      x->schedlink = s.free;
      s.free = x;
      ++s.nfree;
    }
  }
}

void g_flush(p* pp) {
  gslab_t& s = slab();
  lock_scope lk(s.lock);
  while (pp->free_gs) {
    g* x = pp->free_gs;
    pp->free_gs = x->schedlink;
    x->schedlink = s.free;
    s.free = x;
    ++s.nfree;
  }
  pp->nfree_gs = 0;
}

void g_clear_locals(g* gp) {
  // A destructor may itself use goroutine_local: drain until empty.
  while (gp->extra && !gp->extra->gls.empty()) {
    gls_slot slot = gp->extra->gls.back();
    gp->extra->gls.pop_back();
    if (slot.destroy && slot.value) slot.destroy(slot.value);
  }
}

void for_each_g(void (*fn)(g*, void*), void* arg) {
  gslab_t& s = slab();
  std::vector<std::pair<g*, std::size_t>> chunks;  // each with its count carved so far
  {
    lock_scope lk(s.lock);
    for (std::size_t i = 0; i < s.chunks.size(); ++i) chunks.emplace_back(s.chunks[i], carved(s, i));
  }
  for (auto [c, n] : chunks)
    for (std::size_t i = 0; i < n; ++i) fn(&c[i], arg);
}

namespace {
// ASan builds: an abandoned G's live stack, closure and caught exceptions
// stay visible to LSan (sanitizers.hpp, keep_for_leak_checker). A G parked
// in a catch block may hold its exception only in its exception-handling
// state (gp->eh, in this unscanned slab), not on its stack.
void keep_for_leak_checker(g* gp) {
  if (gp->eh.caught != nullptr) san::keep_for_leak_checker(&gp->eh, sizeof gp->eh);
  auto* sp = static_cast<char*>(gp->ctx);
  if (sp != nullptr && sp >= gp->stk.lo && sp < gp->stk.hi) {
    san::keep_for_leak_checker(sp, static_cast<std::size_t>(gp->stk.hi - sp));
    san::forget_frames(sp, static_cast<std::size_t>(gp->stk.hi - sp));
  }
  if (gp->closure == gp->inline_buf) {
    san::keep_for_leak_checker(gp->inline_buf, sizeof gp->inline_buf);
  } else if (gp->closure != nullptr && san::keeps_for_leak_checker) {
    san::keep_block_for_leak_checker(gp->closure);
    gp->closure = nullptr;  // kept, so g_reset must not free it
  }
}
}  // namespace

void gslab_reset_all() {
  gslab_t& s = slab();
  lock_scope lk(s.lock);
  s.free = nullptr;
  s.nfree = 0;
  for (std::size_t ci = 0; ci < s.chunks.size(); ++ci) {
    for (std::size_t i = 0, n = carved(s, ci); i < n; ++i) {
      g* gp = &s.chunks[ci][i];
      if (gp->status.load(std::memory_order_relaxed) != g_unused) {
        // Abandoned when main returned. A G that never ran still owns its
        // closure; one that ran is left as Go leaves it (its frames are gone).
        if (!gp->ever_ran && gp->ops) gp->ops->destroy(gp->closure);
        if (gp->ever_ran) keep_for_leak_checker(gp);
        g_clear_locals(gp);
        g_reset(gp);  // its stack is unmapped with the slabs (stacks_release_all)
      }
      gp->schedlink = s.free;
      s.free = gp;
      ++s.nfree;
    }
  }
}

}  // namespace weft::detail
