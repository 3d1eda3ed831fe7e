// weft/wait_group.hpp: Go's sync.WaitGroup.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <atomic>
#include <cstdint>

namespace weft {

// Waits for a collection of goroutines: add(n) before starting them, done()
// in each, wait() parks until the count is back to zero. Not copyable.
class wait_group {
 public:
  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;
  ~wait_group();

  // Adds delta (may be negative) to the count; a count below zero is misuse
  // (misuse_error "negative wait_group counter"). Reaching zero wakes waiters.
  void add(std::int64_t delta = 1);
  void done() { add(-1); }
  // Parks the caller until the count is zero (returns at once if it is).
  void wait();

 private:
  // High 32 bits: the count (signed); low 32: waiters registered in this
  // round. One word, so that the add that reaches zero sees every waiter.
  std::atomic<std::uint64_t> state_{0};
  std::atomic<std::uint32_t> lock_{0};  // guards permits_ and waiters_
  std::uint32_t permits_ = 0;  // wake-ups owed to registered waiters
  void* waiters_ = nullptr;  // parked goroutines, intrusive list
};

}  // namespace weft
