// src/runtime/freshq.hpp: the global queue of goroutines that never ran
// (sched.freshq), where most of them are kept as 64-byte records, not Gs.
//
// Why: a program that starts far more goroutines than it runs at once
// (spawn: a million queued) held a 256-byte G per queued goroutine, and
// every byte of it was fresh memory: faulted in, zeroed, written by the
// spawner's core and read by the runner's. A goroutine that never ran needs
// only its closure and what a dump shows of it (id, parent, creator). So
// when a P's ring overflows into this queue (runq.cpp), each fresh G whose
// closure is plain bytes of at most 32 (weft/go.hpp, closure_ops) becomes a
// record here, and its G goes straight back to the P's free list; the next
// spawns take that G again, still in cache. When a P takes a record from
// the queue it makes it a G again (materialize), from its own free list,
// which the goroutines that just ended filled. So a million queued
// goroutines are 64 MB of records in order, read once, plus a few hundred
// Gs that cycle, instead of 256 MB of Gs.
//
// Other Gs (a closure with a destructor or over 32 bytes, a name, a stack
// size of its own, instrumentation's record) stay Gs, in the same queue and
// the same order (an entry with no ops holds a G pointer).
//
// Records live in chunks of 2 MiB (the first one 64 KiB: a program that
// overflows a ring once should not commit 2 MiB), taken committed from
// gslab_spare.cpp like G chunks. One drained chunk is kept for reuse; the
// others wait on a list that sysmon frees outside the lock
// (release_fresh_chunks), so a burst's 64 MB does not stay committed after
// it ran (parked measures that memory). clear() frees all at the end of
// weft::run.
//
// Invariants (under sched.lock): size counts the entries in the chunks;
// entries are taken in the order they were put; a record's closure bytes
// are a live closure that no G owns, so exactly one materialize (or
// clear(), which needs no destructor for plain bytes) ends it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <weft/go.hpp>

namespace weft::detail {

struct g;
struct p;

struct fresh_entry {
  static constexpr std::size_t closure_bytes = 32;
  const closure_ops* ops;  // null: an entry that holds a G (gp)
  union {
    void* creation_pc;  // a record's
    g* gp;
  };
  goroutine_id id;
  goroutine_id parent_id;
  alignas(16) unsigned char closure[closure_bytes];
};
static_assert(sizeof(fresh_entry) == 64, "a record is one cache line");

class fresh_fifo {
 public:
  fresh_fifo() = default;
  fresh_fifo(const fresh_fifo&) = delete;
  fresh_fifo& operator=(const fresh_fifo&) = delete;

  // Entries queued; read without the lock as a hint.
  std::atomic<std::int32_t> size{0};

  // All below REQUIRE sched.lock (not annotated: sched is declared after).
  // Appends gp as a G.
  void put(g* gp);
  // Appends gp as a record when it can be one (can_record) and returns
  // true: gp no longer owns its closure and is the caller's to g_put.
  // Otherwise appends it as a G and returns false.
  bool put_or_record(g* gp);
  // Takes the oldest entry. REQUIRES: size > 0.
  fresh_entry take();
  // Calls fn(const fresh_entry&, arg) on each record (not the G entries:
  // those are in the G slabs), oldest first.
  void for_each_record(void (*fn)(const fresh_entry&, void*), void* arg) const;
  // Drops every entry (the end of weft::run: records' closures are plain
  // bytes; Gs are reset by gslab_reset_all) and frees the chunks.
  void clear();

  struct chunk;
  // Whether drained chunks wait to be freed (a hint, without the lock).
  bool has_released() const noexcept { return has_released_.load(std::memory_order_relaxed); }
  // Takes the drained chunks off the queue, for free_chunks outside the lock.
  chunk* detach_released();
  static void free_chunks(chunk* list) noexcept;
  // Chunks held: queued, spare and released (tests).
  std::size_t chunks_held() const;

 private:
  fresh_entry* append();  // a slot at the tail, in a new chunk if needed
  chunk* head_ = nullptr;  // oldest; take from here
  chunk* tail_ = nullptr;  // put here
  chunk* spare_ = nullptr;  // one drained chunk, kept for reuse
  chunk* released_ = nullptr;  // the other drained ones, to be freed
  std::atomic<bool> has_released_{false};
  bool first_taken_ = false;  // the small first chunk has been made
};

// Whether gp, a G that never ran, can be kept as a record.
bool can_record(const g* gp) noexcept;
// A G for entry e on pp: e's own G, or a G from pp's free list that takes
// over the record's closure and fields. May take the G slab's lock.
g* materialize(p* pp, const fresh_entry& e);

}  // namespace weft::detail
