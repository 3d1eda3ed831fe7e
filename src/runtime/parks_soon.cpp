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
//   - ready() by a running G not tied to its thread into its P's empty
//     run queue (procs > 1) marks the G (g.readied_into_empty_p) and skips
//     wakep if the G is learned (g.parks_soon, or g.parked_soon at
//     parked_soon_to_skip_wake), counting the skip in p.skipped_wakes;
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
//     the readier's next park finds runnext empty and unlearns.
#include "runtime/runq.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

namespace {

// Parks in a row, each soon after a ready, before a G's readies skip wakep:
// a G that parks soon once by chance does not make its readies wait.
constexpr std::uint8_t parked_soon_to_skip_wake = 4;

}  // namespace

bool learned_it_parks_soon(const g* gp) noexcept {
  return gp->parks_soon || gp->parked_soon >= parked_soon_to_skip_wake;
}

bool ready_skips_wake(g* readier, p* pp) noexcept {
  // One P: there is never another to wake, and nothing to learn for. A G
  // tied to its thread (g.home: lock_os_thread, thread_locker): its M
  // gives the P away when it parks, so another M runs what it readied
  // anyway, and woken now it is ready by then (locked_server at procs 2
  // took 600 -> 1,700 ns a request when the wake waited for the park).
  if (readier == nullptr || readier->home != nullptr || sched.procs == 1) return false;
  if (readier->readied_into_empty_p) readier->parked_soon = 0;  // readied again before parking
  if (!runq_empty(pp)) return false;
  readier->readied_into_empty_p = true;
  if (!learned_it_parks_soon(readier)) return false;
  pp->skipped_wakes.store(pp->skipped_wakes.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return true;
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
