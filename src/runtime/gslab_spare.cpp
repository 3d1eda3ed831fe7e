// src/runtime/gslab_spare.cpp: G chunks, and the fresh queue's chunks of
// records (freshq.hpp), committed ahead, off the spawner's path.
//
// Why: a program that queues many goroutines touched ~290 bytes of fresh
// memory per G (gslab.cpp), now 64 per record. How much a fresh page costs depends on where
// it comes from, and on the VMs we measure on, by a factor of 25: a 2 MiB
// huge page of memory the hypervisor still backs is 0.35 us per 4 KiB,
// one it took back (free page reporting) 8-9 us; small pages touched one
// by one 1.5-2.8 us; small pages committed in one MADV_POPULATE_WRITE call
// 1.27 us, whichever memory they get. Huge pages made spawn's figure swing
// 165-1080 ns per goroutine between runs of one binary; committed small
// pages hold it within 1.5x. Committing on another thread, while the
// spawner fills the chunk before, takes most of the rest off its path:
// a 2 MiB chunk is ~0.65 ms of committing and ~1 ms of spawning.
//
// Protocol: one spare at most. gslab_take_spare exchanges it out (or maps
// and commits a chunk itself when none is ready), then sets `wanted` and
// wakes the maker. The maker thread, started by the first take, sleeps on
// `wanted`; woken, it clears it, and makes a spare if there is none. A
// take that finds no spare is never held back by the maker.
//
// The first chunk never comes from here (gslab.cpp: a worker's first `go`
// must not commit 2 MiB), so a program with few goroutines has no maker
// thread and no spare. The maker lives as long as the process and keeps
// one spare (2 MiB). A forked child has no maker (fork copies one thread):
// it starts its own at its next take.
#include "runtime/gslab_spare.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "platform/futex.hpp"
#include "platform/memory.hpp"
#include "platform/signals.hpp"

namespace weft::detail {

namespace {

std::atomic<void*> spare{nullptr};
std::atomic<std::uint32_t> wanted{0};
std::atomic<bool> maker_started{false};

void* make_chunk() {
  int err = 0;
  void* mem = os::mem_map(gslab_spare_bytes, false, &err);
  if (mem == nullptr) return nullptr;
  os::mem_huge_pages(mem, gslab_spare_bytes, false);
  os::mem_populate(mem, gslab_spare_bytes);  // older kernels: faulted in as touched
  return mem;
}

void maker_loop() {
  os::block_async_signals();  // signals are the Ms' to take
  for (;;) {
    while (wanted.exchange(0, std::memory_order_acquire) == 0) os::futex_wait(&wanted, 0, -1);
    if (spare.load(std::memory_order_acquire) != nullptr) continue;
    void* mem = make_chunk();
    if (mem == nullptr) continue;  // the next take maps its own and reports
    void* none = nullptr;
    if (!spare.compare_exchange_strong(none, mem, std::memory_order_release)) os::mem_unmap(mem, gslab_spare_bytes);
  }
}

void forget_maker_in_child() {
  maker_started.store(false, std::memory_order_relaxed);
  wanted.store(0, std::memory_order_relaxed);
}

void start_maker() {
  if (maker_started.exchange(true, std::memory_order_acq_rel)) return;
  static const bool registered = [] { return ::pthread_atfork(nullptr, nullptr, forget_maker_in_child) == 0; }();
  (void)registered;
  try {
    std::thread(maker_loop).detach();
  } catch (...) {
    maker_started.store(false, std::memory_order_relaxed);  // no thread: every take commits its own
  }
}

}  // namespace

void* gslab_take_spare() {
  void* mem = spare.exchange(nullptr, std::memory_order_acquire);
  if (mem == nullptr) mem = make_chunk();
  start_maker();
  if (wanted.exchange(1, std::memory_order_release) == 0) os::futex_wake(&wanted, 1);
  return mem;
}

bool gslab_spare_ready() noexcept { return spare.load(std::memory_order_acquire) != nullptr; }

}  // namespace weft::detail
