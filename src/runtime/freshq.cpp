// src/runtime/freshq.cpp: goroutines that never ran, as records (design in
// freshq.hpp).
#include "runtime/freshq.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "platform/memory.hpp"
#include "runtime/gslab.hpp"
#include "runtime/gslab_spare.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

struct alignas(64) fresh_fifo::chunk {
  chunk* next = nullptr;
  std::size_t bytes = 0;  // mapped, header included
  std::uint32_t head = 0;  // the next entry to take
  std::uint32_t tail = 0;  // the next entry to write
  std::uint32_t capacity = 0;
  bool mapped = false;  // from gslab_take_spare, else from the heap

  fresh_entry* entries() noexcept { return reinterpret_cast<fresh_entry*>(this + 1); }
  const fresh_entry* entries() const noexcept { return reinterpret_cast<const fresh_entry*>(this + 1); }
};
static_assert(sizeof(fresh_entry) % alignof(fresh_entry) == 0 && 64 % alignof(fresh_entry) == 0);

namespace {

constexpr std::size_t first_chunk_bytes = 64 * 1024;

// A new chunk: the small first one from the heap; later ones committed
// ahead (gslab_take_spare), or from the heap when no mapping can be had.
// Fatal when the heap has no room either: the G being queued is off its
// ring already, and weft::go returned long ago (runq_put_slow), as when
// the queue was a std::deque.
fresh_fifo::chunk* new_chunk(bool small) {
  using Chunk = fresh_fifo::chunk;
  std::size_t bytes = small ? first_chunk_bytes : gslab_spare_bytes;
  void* mem = small ? nullptr : gslab_take_spare();
  const bool mapped = mem != nullptr;
  if (!mapped) mem = std::aligned_alloc(alignof(Chunk), bytes);
  if (mem == nullptr)
    fatal("out of memory: no room in the global queue for goroutines that have not started (" + std::to_string(bytes) +
          " bytes)");
  auto* c = ::new (mem) Chunk;
  c->bytes = bytes;
  c->mapped = mapped;
  c->capacity = static_cast<std::uint32_t>((bytes - sizeof(Chunk)) / sizeof(fresh_entry));
  return c;
}

}  // namespace

fresh_entry* fresh_fifo::append() {
  if (tail_ == nullptr || tail_->tail == tail_->capacity) {
    chunk* c = spare_;
    if (c != nullptr) {
      spare_ = nullptr;
      c->next = nullptr;
      c->head = c->tail = 0;
    } else {
      c = new_chunk(!first_taken_);
      first_taken_ = true;
    }
    (tail_ ? tail_->next : head_) = c;
    tail_ = c;
  }
  return &tail_->entries()[tail_->tail++];
}

void fresh_fifo::put(g* gp) {
  fresh_entry* e = append();
  e->ops = nullptr;
  e->gp = gp;
  size.fetch_add(1, std::memory_order_release);
}

bool can_record(const g* gp) noexcept {
  // Its closure is plain bytes in its inline buffer (a heap closure would
  // move as a pointer, but closures that big are rare), and it has nothing
  // a record could not carry: a name (extra), instrumentation's record, a
  // home M, a stack size of its own.
  const closure_ops* ops = gp->ops;
  return ops != nullptr && ops->plain_bytes && ops->size <= fresh_entry::closure_bytes &&
         gp->closure == gp->inline_buf && !gp->ever_ran && gp->extra == nullptr &&
         gp->stats.load(std::memory_order_relaxed) == nullptr && gp->home == nullptr &&
         gp->stack_request == default_stack_class();
}

bool fresh_fifo::put_or_record(g* gp) {
  if (!can_record(gp)) {
    put(gp);
    return false;
  }
  fresh_entry* e = append();
  e->ops = gp->ops;
  e->creation_pc = gp->creation_pc.load(std::memory_order_relaxed);
  e->id = gp->id;
  e->parent_id = gp->parent_id.load(std::memory_order_relaxed);
  std::memcpy(e->closure, gp->closure, gp->ops->size);
  // The closure is the record's now: the G must not destroy it (g_reset
  // frees only heap closures, and this one is inline).
  gp->ops = nullptr;
  size.fetch_add(1, std::memory_order_release);
  return true;
}

fresh_entry fresh_fifo::take() {
  chunk* c = head_;
  fresh_entry e = c->entries()[c->head++];
  if (c->head == c->tail) {
    if (c == tail_) {
      c->head = c->tail = 0;  // empty: filled again from the start
    } else {
      head_ = c->next;  // drained (and full: a chunk behind the tail is)
      if (spare_ == nullptr) {
        c->next = nullptr;
        spare_ = c;
      } else {
        c->next = released_;
        released_ = c;
        has_released_.store(true, std::memory_order_relaxed);
      }
    }
  }
  size.fetch_sub(1, std::memory_order_relaxed);
  return e;
}

void fresh_fifo::for_each_record(void (*fn)(const fresh_entry&, void*), void* arg) const {
  for (const chunk* c = head_; c != nullptr; c = c->next)
    for (std::uint32_t i = c->head; i < c->tail; ++i)
      if (c->entries()[i].ops != nullptr) fn(c->entries()[i], arg);
}

fresh_fifo::chunk* fresh_fifo::detach_released() {
  chunk* list = released_;
  released_ = nullptr;
  has_released_.store(false, std::memory_order_relaxed);
  return list;
}

void fresh_fifo::free_chunks(chunk* list) noexcept {
  while (list != nullptr) {
    chunk* next = list->next;
    if (list->mapped) {
      os::mem_unmap(list, list->bytes);
    } else {
      std::free(list);
    }
    list = next;
  }
}

std::size_t fresh_fifo::chunks_held() const {
  std::size_t n = spare_ != nullptr ? 1 : 0;
  for (const chunk* list : {head_, released_})
    for (const chunk* c = list; c != nullptr; c = c->next) ++n;
  return n;
}

void fresh_fifo::clear() {
  free_chunks(head_);
  free_chunks(spare_);
  free_chunks(detach_released());
  head_ = tail_ = spare_ = nullptr;
  first_taken_ = false;
  size.store(0, std::memory_order_relaxed);
}

g* materialize(p* pp, const fresh_entry& e) {
  if (e.ops == nullptr) return e.gp;
  g* gp = g_get(pp);
  gp->stack_request = default_stack_class();
  gp->closure = gp->inline_buf;
  std::memcpy(gp->inline_buf, e.closure, e.ops->size);
  gp->ops = e.ops;
  gp->id = e.id;
  gp->creation_pc.store(e.creation_pc, std::memory_order_relaxed);
  gp->parent_id.store(e.parent_id, std::memory_order_relaxed);
  // Release: a goroutine dump that sees the status sees the fields above.
  gp->status.store(g_runnable, std::memory_order_release);
  return gp;
}

}  // namespace weft::detail
