// src/runtime/quick_spin.hpp: how long an M that runs out of goroutines
// looks for a quick reply before it sleeps (quick_reply_scope in
// runtime.hpp; the loop is find_runnable's spin, proc.cpp).
//
// Why: a reply the peer sends at once (a remote fetch-add, a send into a
// buffered remote channel) is typically 10-30 us away, and sleeping for it
// costs more than that on a VM, where an idle vCPU is halted and its
// wake-up is the host's (bench/wait_probe: a blocking wait for a loopback
// echo took 52-58 us a round trip, polling for it 19 us, with the same CPU
// in the client). So the M polls the network, yielding between looks.
//
// Whose CPU it takes. A spin is free only while no thread waits for a CPU:
// spinning clients (no yield, no look at the machine) took remote_counter
// from 74k to 31k ops/s (five processes on two cores). So the spin looks
// at the machine's runnable-thread count (os::cpus_to_spare) before each
// pause and stops when threads outnumber the CPUs; an M that found the
// machine crowded in more than a quarter of its recent looks (a running
// average) starts no quick spin, looking once per wait until that changes;
// and the yield gives the CPU to a thread just woken onto it before the
// count shows it. Nor does an M spin while another M is blocked in the
// poller: the reply would wake that one all the same.
//
// How long. The budget shrinks by an eighth after a spin that found
// nothing (a peer far away, a channel that was full) and doubles after one
// that found its reply, between the bounds below; every 32nd spin tries
// the maximum, so that a peer that became quick again is noticed from the
// floor. A spin cut short by a crowded machine says nothing about the peer
// and leaves the budget alone.
//
// What it bought (weft-remote-bench, alternating runs): remote_chan at
// procs 1 104-123 -> 73-85 us a round trip; at procs 2 the same median (78
// us) with a narrower spread (66-80 against 68-102), though most spins
// there find their reply too (84% in a counted run; why the round trip
// does not shorten is not known); remote_counter unchanged, and its CPU.
#pragma once

#include <cstdint>

namespace weft::detail {

class quick_spin {
 public:
  static constexpr std::int64_t max_ns = 50'000;
  static constexpr std::int64_t min_ns = 4'000;

  // At the start of an idle M's spin while some goroutine waits for a
  // quick reply, with a look at the machine (spare: os::cpus_to_spare()):
  // how long to look for the reply, or 0 for not at all.
  std::int64_t begin(bool spare) noexcept;
  // Before each pause, with a fresh look: whether the spin may go on
  // (false: the machine is crowded now; the spin ends).
  bool may_go_on(bool spare) noexcept;
  // The spin found work (the reply, or anything else) / ran out.
  void found() noexcept;
  void ran_out() noexcept;

  std::int64_t budget_ns() const noexcept { return budget_ns_; }

 private:
  static constexpr std::uint32_t probe_every = 32;
  static constexpr std::uint32_t score_one = 256;  // the running average's scale
  void sample(bool crowded) noexcept;
  std::int64_t budget_ns_ = max_ns;
  std::uint32_t spins_ = 0;
  std::uint32_t crowded_score_ = 0;  // of score_one: the recent looks that found the machine crowded
  bool cut_short_ = false;  // this spin ended for want of a CPU
};

}  // namespace weft::detail
