// src/runtime/trace_events.cpp: recording and collecting scheduler events.
#include "runtime/trace_events.hpp"

#include <algorithm>
#include <mutex>

#include "platform/futex.hpp"
#include "platform/tsc.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

std::atomic<bool> trace_on{false};
std::atomic<std::uint32_t> trace_epoch{0};

namespace {

// The clock. Where the TSC keeps time (platform/tsc.hpp) an event is
// stamped with it, and a drain maps the stamps to nanotime linearly
// between two points where it read both clocks: the previous drain's (or
// trace_start's) and its own. The map is continuous from one drain to the
// next, and monotonic, so events keep their order. Elsewhere events are
// stamped with nanotime. Decided by the first trace_start, not at start-up
// (reading the kernel's clocksource takes ~9 us, a cost to every program,
// traced or not), and never changed after: trace_start sets it before it
// takes each M's trace lock, and an M stamps under that lock only once
// tracing is on.
std::atomic<bool> stamp_with_tsc{false};

struct clock_point {
  std::uint64_t tsc = 0;
  std::int64_t ns = 0;
};

// Both clocks at one moment: nanotime between two TSC reads, paired with
// their midpoint, which is off by at most half their gap. Of a few tries
// the tightest pair is kept: a thread preempted between the reads (or a
// clock_gettime that is slow under a sanitizer) would otherwise skew every
// stamp of the drain by up to that delay.
clock_point clock_now() {
  clock_point best;
  std::uint64_t best_gap = ~std::uint64_t{0};
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t before = os::tsc_now();
    const std::int64_t ns = os::nanotime();
    const std::uint64_t after = os::tsc_now();
    if (after - before < best_gap) {
      best_gap = after - before;
      best = {before + (after - before) / 2, ns};
    }
  }
  return best;
}

// The last point read, and nanoseconds per tick as last measured (a drain
// right after the previous one has too short a base to measure its own).
// Guarded by sched.lock.
clock_point last_point;
double ns_per_tick = 1.0 / 3.0;

std::int64_t stamp() noexcept {
  return stamp_with_tsc.load(std::memory_order_relaxed) ? static_cast<std::int64_t>(os::tsc_now()) : os::nanotime();
}

// Maps the TSC stamps of events recorded since `from` to nanotime.
void to_nanotime(std::vector<trace_event>& events, clock_point from, double slope) {
  for (trace_event& e : events) {
    const auto ticks = static_cast<std::int64_t>(static_cast<std::uint64_t>(e.ts) - from.tsc);
    e.ts = from.ns + static_cast<std::int64_t>(static_cast<double>(ticks) * slope);
  }
}

}  // namespace

const char* ev_name(ev e) noexcept {
  switch (e) {
    case ev::go_create: return "go_create";
    case ev::go_start: return "go_start";
    case ev::go_block: return "go_block";
    case ev::go_unblock: return "go_unblock";
    case ev::go_end: return "go_end";
    case ev::steal: return "steal";
    case ev::m_park: return "m_park";
    case ev::m_wake: return "m_wake";
    case ev::go_yield: return "go_yield";
    case ev::chan_send: return "chan_send";
    case ev::chan_recv: return "chan_recv";
    case ev::blocking_enter: return "blocking_enter";
    case ev::blocking_exit: return "blocking_exit";
    case ev::remote_call: return "remote_call";
    case ev::remote_reply: return "remote_reply";
    case ev::dropped: return "dropped";
    case ev::xref_call: return "xref_call";
    case ev::xref_reply: return "xref_reply";
    case ev::xref_serve: return "xref_serve";
    case ev::xref_served: return "xref_served";
  }
  return "?";
}

void trace_record(m* mp, ev type, std::uint64_t g, std::uint64_t arg, const char* text) {
  if (mp == nullptr) return;
  // Stamped under the lock: another thread may record on this M (an
  // m_wake), and each M's events must stay in time order for the merge.
  lock_scope lk(mp->trace.lock);
  if (mp->trace.events.size() >= trace_buffer_limit) {
    ++mp->trace.dropped;
    return;
  }
  mp->trace.events.push_back(trace_event{stamp(), g, arg, text, mp->id, type});
}

void trace_record_here(ev type, std::uint64_t arg, const char* text) {
  m* mp = this_m();
  if (mp == nullptr || mp->curg == nullptr) return;
  trace_record(mp, type, mp->curg->id, arg, text);
}

void trace_record_create(m* mp, std::uint64_t parent, g* child) {
  trace_record(mp, ev::go_create, parent, child->id);
  child->trace_epoch = trace_epoch.load(std::memory_order_acquire);  // named here, not at its first start
  // The child has not run yet, so its name is stable; only named ones pay.
  if (const std::string* name = child->name()) {
    lock_scope lk(mp->trace.lock);
    mp->trace.names.emplace_back(child->id, *name);
  }
}

void trace_record_start(m* mp, g* gp) {
  trace_record(mp, ev::go_start, gp->id, 0);
  const std::uint32_t epoch = trace_epoch.load(std::memory_order_acquire);
  if (gp->trace_epoch == epoch) return;
  gp->trace_epoch = epoch;
  // A goroutine that predates this trace: its track gets its name (gp is
  // about to run here, so its name is stable).
  if (const std::string* name = gp->name()) {
    lock_scope lk(mp->trace.lock);
    mp->trace.names.emplace_back(gp->id, *name);
  }
}

void trace_here_start() {
  m* mp = this_m();
  if (tracing() && mp != nullptr && mp->curg != nullptr) trace_record_start(mp, mp->curg);
}

void trace_start() {
  stamp_with_tsc.store(os::tsc_usable(), std::memory_order_relaxed);  // the same answer every time
  trace_epoch.fetch_add(1, std::memory_order_release);
  lock_scope lk(sched.lock);
  last_point = clock_now();
  for (m* mp : sched.allm) {
    lock_scope l2(mp->trace.lock);
    mp->trace.events.clear();
    mp->trace.names.clear();
    mp->trace.dropped = 0;
  }
  trace_on.store(true, std::memory_order_release);
}

trace_batch trace_drain() {
  trace_batch b;
  trace_drain_into(b);
  return b;
}

void trace_drain_into(trace_batch& b) {
  b.events.clear();
  b.names.clear();
  b.dropped = 0;
  // Each M's buffer is swapped out under the locks and merged after them:
  // sched.lock is held for a few pointer swaps, not for copying events.
  std::vector<std::vector<trace_event>> parts;
  std::vector<m*> owners;  // parts[i] came from owners[i]
  clock_point from, to;  // the stamps of these events lie between (or just past `to`)
  double slope = 0;
  {
    lock_scope lk(sched.lock);
    if (stamp_with_tsc.load(std::memory_order_relaxed)) {
      from = last_point;
      to = clock_now();  // before the swap: events stamped after it are few, and just past it
      // Measured over tens of microseconds at least, and believed only
      // between 50 MHz and 20 GHz: a process restored on another host
      // (docs/migration-criu.md) finds another TSC there, and its first
      // drain's stamps are skewed, not the rate of every later one.
      if (to.tsc > from.tsc && to.tsc - from.tsc > 100'000) {
        const double measured = static_cast<double>(to.ns - from.ns) / static_cast<double>(to.tsc - from.tsc);
        if (measured > 0.05 && measured < 20.0) ns_per_tick = measured;
      }
      slope = ns_per_tick;
      last_point = to;
    }
    parts.resize(sched.allm.size());
    owners = sched.allm;
    for (std::size_t i = 0; i < sched.allm.size(); ++i) {
      trace_buffer& t = sched.allm[i]->trace;
      lock_scope l2(t.lock);
      parts[i].swap(t.events);
      t.events.swap(t.spare);
      for (auto& n : t.names) b.names.push_back(std::move(n));
      t.names.clear();
      b.dropped += t.dropped;
      t.dropped = 0;
    }
  }
  std::size_t n = 0;
  for (auto& p : parts) {
    if (slope != 0) to_nanotime(p, from, slope);  // TSC stamps
    n += p.size();
  }
  b.events.reserve(n);
  // Each M's events are already in time order (one clock, read under its
  // lock): a merge of the few Ms' runs, each step taking the least of their
  // heads, is linear in the events and allocates nothing (inplace_merge
  // took a temporary buffer as large as the events at every drain; sorting
  // was slower still).
  std::vector<std::pair<const trace_event*, const trace_event*>> runs;  // [next, end) of each non-empty part
  for (const auto& p : parts)
    if (!p.empty()) runs.emplace_back(p.data(), p.data() + p.size());
  while (!runs.empty()) {
    std::size_t least = 0;
    for (std::size_t i = 1; i < runs.size(); ++i)
      if (runs[i].first->ts < runs[least].first->ts) least = i;
    b.events.push_back(*runs[least].first++);
    if (runs[least].first == runs[least].second) runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(least));
  }
  // Give each M its emptied buffer back as its spare, if the M is still
  // there (a locked thread's M leaves allm when its thread ends).
  lock_scope lk(sched.lock);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (std::find(sched.allm.begin(), sched.allm.end(), owners[i]) == sched.allm.end()) continue;
    trace_buffer& t = owners[i]->trace;
    parts[i].clear();
    lock_scope l2(t.lock);
    if (parts[i].capacity() > t.spare.capacity()) t.spare.swap(parts[i]);
  }
}

trace_batch trace_finish() {
  trace_batch b;
  trace_finish_into(b);
  return b;
}

void trace_finish_into(trace_batch& b) {
  trace_on.store(false, std::memory_order_release);
  trace_drain_into(b);
}

std::vector<trace_event> trace_stop() { return trace_finish().events; }

}  // namespace weft::detail
