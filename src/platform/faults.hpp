// src/platform/faults.hpp: making the OS fail on purpose, for tests.
//
// Every system call weft makes goes through src/platform/ (STYLE.md), so
// that tests can see how the runtime copes when the OS says no, without
// exhausting memory or descriptors for real. LevelDB swaps its Env for a
// fault-injecting one; weft's platform instead consults a small table at
// its fault points: a test arms one (through src/testing.hpp), and the next
// `count` calls there fail with the errno it chose, or, for reads and
// writes, move fewer bytes than asked (a short count), without reaching the
// kernel. Unarmed, a fault point costs one relaxed load.
//
// Fault points:
//   mmap    mem_map (goroutine stacks, G slabs, signal stacks): ENOMEM
//   accept  sock_accept: EMFILE, ENFILE, ECONNABORTED, ...
//   read    sock_recv, file_read, file_pread: EINTR, EIO, ..., or short
//   write   sock_send, file_write, file_pwrite: EINTR, EPIPE, ..., or short
// The table is global: a fault armed by one test thread may be taken by
// any thread's call at that point. Tests arm it just before the calls they
// mean and read faults_left afterwards.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace weft::detail::os {

enum class fault_point : std::uint8_t { mmap, accept, read, write };
constexpr int fault_point_count = 4;

struct fault {
  int err = 0;  // the errno to fail with; 0: a short count
  std::size_t max_bytes = 0;  // a short count: move at most this many bytes (>= 1)
};

// Arms the next `count` calls at `point`: fail with err (a positive errno),
// or, with err == 0, move at most max_bytes (read and write only). Replaces
// what was armed there. count <= 0 disarms.
void inject_faults(fault_point point, int count, int err, std::size_t max_bytes = 1) noexcept;
// Disarms every fault point.
void clear_faults() noexcept;
// Calls still to be failed at `point`.
int faults_left(fault_point point) noexcept;

namespace faults_detail {
extern std::atomic<int> armed[fault_point_count];
bool take_slow(fault_point point, fault* f) noexcept;
}  // namespace faults_detail

// Whether calls at `point` are to fail or fall short: a caller with another
// way to the kernel (runtime/send_batch.cpp's io_uring) takes the checked
// call instead while one is armed.
inline bool fault_armed(fault_point point) noexcept {
  return faults_detail::armed[static_cast<int>(point)].load(std::memory_order_relaxed) > 0;
}

// For the platform's own calls: true (and the fault in *f) if this call is
// to fail or fall short.
inline bool take_fault(fault_point point, fault* f) noexcept {
  if (!fault_armed(point)) return false;
  return faults_detail::take_slow(point, f);
}

}  // namespace weft::detail::os
