// src/runtime/parks_soon.cpp: learning which goroutines park soon after
// they ready another, so that their readies wake no other M.
//
// Why: Go's ready always calls wakep. At procs 2 a ping-pong pair then
// starts the idle P's M over and over; it spins, finds the partner in
// runnext (which a thief leaves alone while the P switches, runq.cpp) and
// sleeps again. pingpong at procs 2 made 3,165 context switches and 1,307
// futex calls per million round trips and took 216-264 ns a round trip
// where one thread takes 105-150. Tokio never wakes a worker for a task
// put in its LIFO slot, and its users met the other side of that: a task
// that runs on after waking another holds it back (tokio #4941). weft
// learns it per G, as the runtime's own readers declare it
// (parks_soon_scope).
//
// The protocol:
//   - a G declared to park soon (g.parks_soon: the runtime's readers of a
//     connection) skips wakep for everything it readies or starts onto its
//     P (procs > 1), however many: a reader hands over every frame of one
//     read before it reads again, and then its M runs them all in turn.
//     remote_call_pipelined at procs 2 woke the other P's M for the second
//     caller of each read (13k futex calls per 200k calls in the client),
//     which stole a few callers, ran them and slept: half the CPU of the
//     run and 1.7-1.9x fewer calls/s than without those wakes;
//   - ready() by another running G not tied to its thread into its P's
//     empty run queue (procs > 1) marks the G (g.readied_into_empty_p) and
//     skips wakep if the G is learned (g.parked_soon at
//     parked_soon_to_skip_wake); every skip counts in p.skipped_wakes;
//   - the G's next park or yield looks: the readied G still in runnext
//     means it parked soon (g.parked_soon + 1); runnext empty (a thief took
//     it) means it did not (0). A second ready before that park also
//     means it ran on (0).
// Invariants:
//   - a G readied without a wake-up sits in a runnext that other Ps may
//     steal from (runq_steal), never in a place only its P can reach;
//   - liveness: a learned G that runs on without parking leaves the readied
//     G with no M looking; sysmon finds the P (queued work, no switch
//     between two looks, an idle P, nobody spinning: sysmon.cpp,
//     wake_for_stranded_work) and wakes an M, which steals it. While
//     p.skipped_wakes moves, sysmon looks at least every millisecond, so
//     such a G waits a few ms, once per lesson (against Go's microseconds);
//     the readier's next park finds runnext empty and unlearns;
//   - parallelism: a declared reader's burst of long-running Gs queues on
//     one P; sysmon finds a backlog (Gs in the ring beyond runnext at two
//     looks in a row, more than 250 us of them at the pace the P ran them
//     in between; an idle P, nobody spinning) and wakes an M, switches or
//     not, and that M, spinning, wakes the next while work remains. So a
//     burst loses against Go one or two sysmon looks (1-4 ms measured
//     here) before another P shares it, once per burst that outlasts them.
#include "runtime/runq.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

// Parks in a row, each soon after a ready, before a G's readies skip wakep:
// a G that parks soon once by chance does not make its readies wait.
constexpr std::uint8_t parked_soon_to_skip_wake = 4;

// sysmon looks at least every millisecond while this moves (sysmon.cpp).
bool count_skipped_wake(p* pp) noexcept {
  pp->skipped_wakes.store(pp->skipped_wakes.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return true;
}

}  // namespace

bool learned_it_parks_soon(const g* gp) noexcept {
  return gp->parks_soon || gp->parked_soon >= parked_soon_to_skip_wake;
}

// Past ready_skips_wake's inline checks (runtime.hpp).
bool ready_skips_wake_slow(g* readier, p* pp) noexcept {
  if (readier->parks_soon) return count_skipped_wake(pp);
  if (readier->readied_into_empty_p) readier->parked_soon = 0;  // readied again before parking
  if (!runq_empty(pp)) return false;
  readier->readied_into_empty_p = true;
  if (readier->parked_soon < parked_soon_to_skip_wake) return false;
  return count_skipped_wake(pp);
}

bool start_skips_wake(const g* starter, p* pp) noexcept {
  if (starter == nullptr || !starter->parks_soon || starter->home != nullptr || sched.procs == 1) return false;
  return count_skipped_wake(pp);
}

void learn_whether_it_parked_soon_slow(g* gp, const p* pp) noexcept {
  gp->readied_into_empty_p = false;
  if (pp == nullptr) return;
  if (pp->runnext.load(std::memory_order_relaxed) == nullptr) {
    gp->parked_soon = 0;
  } else if (gp->parked_soon < parked_soon_to_skip_wake) {
    ++gp->parked_soon;
  }
}

}  // namespace weft::detail
