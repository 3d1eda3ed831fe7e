// src/trace/cpu_samples.hpp: the buffer between the SIGPROF handler and the
// CPU profiler's reader (trace/cpu_profile.cpp).
//
// A bounded multi-producer, single-consumer ring (Vyukov's bounded queue):
// each slot carries a sequence number that says whose turn it is. A
// producer (a signal handler, on any M) claims the slot at `tail` by a CAS
// on tail when the slot's seq equals that position, fills it, and
// publishes it by storing seq = position + 1 (release). The reader takes
// the slot at `head` when its seq is head + 1 (acquire), copies it out, and
// hands it back by storing seq = head + capacity.
//
// Invariants:
//   R1 push never blocks, allocates or locks: a full ring (the slot at tail
//      not yet read) drops the sample and counts it in dropped().
//   R2 A slot is written by the one producer that claimed it and read by
//      the reader only after its seq says so: samples are never torn.
//   R3 One reader at a time (the profile's goroutine); producers may be
//      interrupted by nothing that pushes (SIGPROF is blocked inside its own
//      handler), and a reader interrupted by a push loses nothing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <weft/go.hpp>

namespace weft::detail::trace {

// One sample: where a thread was when it had used a period of CPU.
struct cpu_sample {
  static constexpr int max_depth = 64;  // frames kept, innermost first (Go keeps 64 too)
  static constexpr int max_name = 63;  // bytes of a goroutine's name kept
  goroutine_id goid = 0;  // 0: not on a goroutine (the scheduler's g0)
  std::uint32_t periods = 1;  // periods of CPU it stands for (cpu_ticks.hpp)
  std::uint16_t depth = 0;
  std::uint8_t name_len = 0;
  char name[max_name];
  void* pcs[max_depth];  // pcs[0]: the interrupted instruction; then return addresses
};

class sample_ring {
 public:
  // REQUIRES: capacity a power of two.
  explicit sample_ring(std::size_t capacity) : mask_(capacity - 1), cells_(new cell[capacity]) {
    for (std::size_t i = 0; i < capacity; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  sample_ring(const sample_ring&) = delete;
  sample_ring& operator=(const sample_ring&) = delete;

  // Claims a slot, has fill(cpu_sample&) write it, publishes it. False (and
  // counted) when the ring is full. Async-signal-safe (R1).
  template <class Fill>
  bool push(Fill&& fill) noexcept {
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    cell* c;
    for (;;) {
      c = &cells_[pos & mask_];
      const std::size_t seq = c->seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
    fill(c->sample);
    c->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  // The reader (R3): take(const cpu_sample&) for every published sample, in
  // order, until one that is not yet. Returns how many it took.
  template <class Take>
  std::size_t drain(Take&& take) {
    std::size_t n = 0;
    for (;;) {
      cell& c = cells_[head_ & mask_];
      if (c.seq.load(std::memory_order_acquire) != head_ + 1) return n;
      take(static_cast<const cpu_sample&>(c.sample));
      c.seq.store(head_ + mask_ + 1, std::memory_order_release);
      ++head_;
      ++n;
    }
  }

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct cell {
    std::atomic<std::size_t> seq{0};
    cpu_sample sample;
  };
  const std::size_t mask_;
  std::unique_ptr<cell[]> cells_;
  alignas(64) std::atomic<std::size_t> tail_{0};
  alignas(64) std::size_t head_ = 0;  // the reader's only
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace weft::detail::trace
