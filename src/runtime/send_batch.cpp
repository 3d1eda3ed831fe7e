// src/runtime/send_batch.cpp: socket writes batched through io_uring.
//
// Why. A loopback round trip is mostly system calls, and on one host we
// measure on making many sends in one io_uring_enter cost less than a
// send(2) each: bench/io_uring_probe's epoll_ws mode (epoll for readiness
// as weft's netpoller does, sends batched on a ring) drove tcp_echo's
// sockets 1.19x faster than send(2) (docs/net.md). On another (same
// kernel, another CPU) a send cost the same either way, 1.01x, and
// batching made weft's tcp_echo 8% slower: the batch only delays its
// writers. So unless WEFT_IO_URING says, the process measures both at its
// first write, on a thread of its own (platform/send_ring_cost.hpp), and
// batches only where a ring's send is clearly cheaper (at most 0.85 of a
// send(2)). Reads stay on the netpoller.
//
// How. Each P owns a ring (made at its first batched write). A goroutine's
// conn::write posts its send there and parks ("IO write"); the buffer stays
// valid because the writer waits. The P's owner flushes: one submission for
// every posted send, each completing before the flush returns
// (platform/send_ring.hpp: MSG_DONTWAIT sends are never left in flight),
// and each writer is readied with its result. A result of -EAGAIN (the
// socket was full) sends the writer to the netpoller as before.
//
// When a batch is flushed (send_batch_poll, at every pick):
//   - when the P has nothing else to run: the batch is as big as it gets;
//   - when 16 goroutines have run on the P since its first send was
//     posted (p.switches): a P that always has work still sends, and so
//     does one where a pair hands runnext back and forth (that pair is one
//     time slice, schedtick, until sysmon ends it after 10 ms);
//   - by a writer that finds 64 posted: it flushes before it posts.
//
// Invariants.
//   S1 Only the M that owns a P touches its ring, its send_pending and the
//      in_send_batch flags of its posted writers: a P has one owner at a
//      time, and ownership passes with acquire/release (acquirep).
//   S2 A posted writer is readied only after its park completed: the
//      writer sets in_send_batch before it parks, and no flush runs while
//      the M's current G has it set (the writer's own pick, before its
//      switch); the flush clears it before ready().
//   S3 A P with posted sends never goes idle: find_runnable flushes before
//      it could give the P up (the run queue is empty then), and handoffp
//      counts pending sends as work, so some M takes the P and flushes.
//   S4 Nothing touches a writer's send_op after ready(): it lives on the
//      writer's stack, which may run on at once on another M.
//
// Forks: the rings' memory is not inherited (MADV_DONTFORK), and a child
// forgets the Ps' rings; writers parked in the parent's batches are the
// parent's. Rejected: one ring for all Ps (a lock on every post, and
// submissions from many threads); a write that returns before its flush (a
// copy of every buffer, and an error reported on a later call); batching
// reads (their completions come later, with no goroutine to flush: a
// completion-based poller, docs/net.md).
#include "runtime/send_batch.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "platform/faults.hpp"
#include "platform/send_ring_cost.hpp"
#include "platform/signals.hpp"
#include "runtime/runq.hpp"

namespace weft::detail {

namespace {

constexpr unsigned ring_entries = 128;
constexpr std::uint32_t max_batch = 64;
constexpr std::uint32_t max_age_switches = 16;

// -1 unknown, 0 off, 1 on, 2 being measured (writes are sends meanwhile).
std::atomic<int> enabled_state{-1};
constexpr int measuring = 2;
// Batching pays where a send through the ring costs clearly less than a
// send(2) (platform/send_ring_cost.hpp): a batch delays its writers, so a
// tie is a loss (tcp_echo -8% on the host where the two cost the same).
constexpr double ring_must_cost_at_most = 0.85;
constexpr int measure_rounds = 8;
std::atomic<std::uint64_t> total_sends{0};
std::atomic<std::uint64_t> total_flushes{0};

struct send_op {
  g* gp;
  long result;
};

void forget_rings_in_child() {
  // No lock: the child has one thread. The rings' mappings did not come
  // along (send_ring_new); their structs are left to leak.
  for (p* pp : sched.allp) {
    pp->send_ring = nullptr;
    pp->send_pending = 0;
  }
}

void measure_and_settle() {
  os::send_costs c;
  bool on = os::measure_send_costs(measure_rounds, &c) && c.ring_ns <= ring_must_cost_at_most * c.direct_ns;
  if (on) ::pthread_atfork(nullptr, nullptr, forget_rings_in_child);
  enabled_state.store(on ? 1 : 0, std::memory_order_release);
}

// Off, on, or measured (about 1 ms): on a thread of its own while writes
// go out as send(2), so that the first write of a program is not held up
// for it (a circuit worker's is on spawn's path); or here (inline), by a
// fork server, whose workers inherit the answer and must not inherit a
// thread.
bool decide_enabled(bool inline_measure = false) {
  int s = enabled_state.load(std::memory_order_acquire);
  if (s >= 0) return s == 1;
  // Unset: measured. 0: off. Anything else: on wherever io_uring works.
  const char* env = std::getenv("WEFT_IO_URING");
  const bool measure = env == nullptr || *env == '\0';
  bool on = measure || std::strcmp(env, "0") != 0;
  if (on && !measure) {
    // One ring made and dropped: io_uring works here, or it never will.
    // (A measurement makes a ring of its own and says off without one.)
    int err = 0;
    os::send_ring* probe = os::send_ring_new(4, &err);
    on = probe != nullptr;
    os::send_ring_free(probe);
  }
  const int state = !on ? 0 : measure ? measuring : 1;
  int expected = -1;
  if (!enabled_state.compare_exchange_strong(expected, state, std::memory_order_acq_rel)) return expected == 1;
  if (state == 1) ::pthread_atfork(nullptr, nullptr, forget_rings_in_child);
  if (state == measuring) {
    if (inline_measure) {
      measure_and_settle();
      return enabled_state.load(std::memory_order_acquire) == 1;
    }
    std::thread([] {
      os::block_async_signals();  // signals are the Ms' to take
      measure_and_settle();
    }).detach();
  }
  return state == 1;
}

void on_sent(void*, std::uint64_t tag, long result) {
  auto* op = reinterpret_cast<send_op*>(static_cast<std::uintptr_t>(tag));
  g* gp = op->gp;
  op->result = result;
  gp->in_send_batch = false;
  ready(gp);  // S4: op may be gone from here on
}

void flush(p* pp) {
  pp->send_pending = 0;
  int n = os::send_ring_flush(pp->send_ring, on_sent, nullptr);
  if (n < 0) fatal("io_uring: submitting batched writes failed: " + std::string(std::strerror(errno)));
  total_flushes.fetch_add(1, std::memory_order_relaxed);
  total_sends.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
}

}  // namespace

bool send_batch_enabled() { return decide_enabled(); }

void send_batch_settle() {
  (void)decide_enabled(true);
  // Another thread's measurement under way (not in a fork server, which
  // has one thread): a millisecond or so.
  while (enabled_state.load(std::memory_order_acquire) == measuring) std::this_thread::yield();
}

bool send_batch_decided() {
  const int s = enabled_state.load(std::memory_order_acquire);
  return s == 0 || s == 1;
}

bool send_batched(int fd, const void* buf, std::size_t len, long* result) {
  if (enabled_state.load(std::memory_order_relaxed) == 0 || os::fault_armed(os::fault_point::write)) return false;
  m* mp = this_m();
  if (mp == nullptr || mp->kind != m_kind::normal) return false;
  g* gp = mp->curg;
  p* pp = mp->pp;
  if (gp == nullptr || pp == nullptr || pp->is_private || gp->home != nullptr || gp->blocking_depth != 0) return false;
  if (pp->send_ring == nullptr) {
    if (!decide_enabled()) return false;
    int err = 0;
    pp->send_ring = os::send_ring_new(ring_entries, &err);
    if (pp->send_ring == nullptr) return false;  // out of memory for a ring: this write goes the plain way
  }
  if (pp->send_pending >= max_batch) flush(pp);  // this G is running: not in the batch (S2)
  send_op op{gp, 0};
  if (!os::send_ring_post(pp->send_ring, fd, buf, len, reinterpret_cast<std::uintptr_t>(&op))) return false;
  if (pp->send_pending++ == 0) pp->send_first_switch = pp->switches.load(std::memory_order_relaxed);
  gp->in_send_batch = true;
  park("IO write", nullptr, nullptr);
  *result = op.result;
  return true;
}

void send_batch_flush_if_due(p* pp) {
  m* mp = this_m();
  if (mp->curg != nullptr && mp->curg->in_send_batch) return;  // S2: its park is under way
  const bool idle = runq_empty(pp);
  std::uint32_t age = pp->switches.load(std::memory_order_relaxed) - pp->send_first_switch;
  if (age < max_age_switches && !idle) return;
  if (!idle) {
    flush(pp);
    return;
  }
  // Nothing else to run here: this M picks the first writer the flush
  // readies next, so only the others are worth waking an M for (as for
  // its own poll: proc.cpp, poll_for_self). A link's one writer, readied
  // by every flush, woke the other P's M each time, which found nothing
  // and slept: 3.3k futex wake-ups per 200k calls of
  // remote_call_pipelined's client at procs 2.
  // Never inside poll_for_self's own deferral: a pick does not poll.
  mp->deferred_readies = 0;
  mp->deferred_readies_not_parking_soon = 0;
  mp->defer_wakep = true;
  flush(pp);
  mp->defer_wakep = false;
  if (mp->deferred_readies > 1) wakep();
}

void send_batch_free(p* pp) {
  // Writers still waiting for a flush when the program ended (main
  // returned meanwhile): their bytes go out as a send(2) made before the
  // end would have, though nobody is left to learn the result.
  if (pp->send_pending != 0)
    os::send_ring_flush(
        pp->send_ring, [](void*, std::uint64_t, long) {}, nullptr);
  os::send_ring_free(pp->send_ring);
  pp->send_ring = nullptr;
  pp->send_pending = 0;
}

send_batch_totals send_batch_counts() {
  return {total_sends.load(std::memory_order_relaxed), total_flushes.load(std::memory_order_relaxed)};
}

}  // namespace weft::detail
