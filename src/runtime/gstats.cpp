// src/runtime/gstats.cpp: per-goroutine instrumentation (design in
// gstats.hpp).
#include "runtime/gstats.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "platform/futex.hpp"
#include "runtime/gslab.hpp"
#include "runtime/runtime.hpp"

namespace weft::detail {

std::atomic<bool> gstats_on{false};

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

std::atomic<std::int64_t> started_ns{0};
// Goroutines that ended on a bound M's private P (outside allp, and gone
// with its thread).
gstats_ended private_ended;

const char* const other_reason = "other";

// Every record made, newest first. Records live as long as their Gs, in
// slab chunks the leak checker does not scan: this chain from a global is
// what tells it they are held.
std::atomic<g_stats*> records_made{nullptr};

void add_reason(g_stats::slot* slots, const char* reason, std::int64_t ns) {
  if (reason == nullptr) reason = "blocked";
  for (int i = 0; i < gstats_reasons - 1; ++i) {
    const char* r = slots[i].reason.load(relaxed);
    if (r == nullptr) {
      // Only the record's current writer claims slots (gstats.hpp, "Who
      // writes"); per-P sums are claimed by their P's M, the private one
      // under a CAS.
      if (!slots[i].reason.compare_exchange_strong(r, reason, relaxed)) {
        if (r != reason && std::strcmp(r, reason) != 0) continue;
      }
      slots[i].ns.fetch_add(ns, relaxed);
      return;
    }
    if (r == reason || std::strcmp(r, reason) == 0) {
      slots[i].ns.fetch_add(ns, relaxed);
      return;
    }
  }
  slots[gstats_reasons - 1].reason.store(other_reason, relaxed);
  slots[gstats_reasons - 1].ns.fetch_add(ns, relaxed);
}

void clear(g_stats& s) {
  for (auto* a : {&s.running_ns, &s.runnable_ns, &s.blocked_ns}) a->store(0, relaxed);
  for (auto* a : {&s.chan_sends, &s.chan_recvs, &s.bytes_read, &s.bytes_written}) a->store(0, relaxed);
  for (auto& slot : s.by_reason) {
    slot.reason.store(nullptr, relaxed);
    slot.ns.store(0, relaxed);
  }
  s.state.store(gstate::unknown, relaxed);
  s.since.store(0, relaxed);
  s.reason.store(nullptr, relaxed);
}

// gp's record for its current goroutine, made or started afresh if needed.
g_stats& record(g* gp) {
  g_stats* s = gp->stats.load(std::memory_order_acquire);
  if (s == nullptr) {
    auto* fresh = new g_stats;
    if (gp->stats.compare_exchange_strong(s, fresh, std::memory_order_acq_rel)) {
      s = fresh;
      fresh->next_made = records_made.load(std::memory_order_relaxed);
      while (!records_made.compare_exchange_weak(fresh->next_made, fresh, std::memory_order_release,
                                                 std::memory_order_relaxed)) {}
    } else {
      delete fresh;  // a snapshot cannot make records; only a racing hook of a recycled G
    }
  }
  if (s->owner.load(relaxed) != gp->id) {
    clear(*s);
    s->owner.store(gp->id, relaxed);
  }
  return *s;
}

// Ends the current state at `now`, adding its time where it belongs.
void close_state(g_stats& s, std::int64_t now) {
  std::int64_t since = s.since.load(relaxed);
  if (since == 0 || now < since) return;  // begun before instrumentation: unknown
  std::int64_t d = now - since;
  switch (s.state.load(relaxed)) {
    case gstate::running: s.running_ns.fetch_add(d, relaxed); break;
    case gstate::runnable: s.runnable_ns.fetch_add(d, relaxed); break;
    case gstate::blocked:
      s.blocked_ns.fetch_add(d, relaxed);
      add_reason(s.by_reason, s.reason.load(relaxed), d);
      break;
    case gstate::unknown: break;
  }
}

void enter(g_stats& s, gstate st, std::int64_t now, const char* reason = nullptr) {
  s.reason.store(reason, relaxed);
  s.since.store(now, relaxed);
  s.state.store(st, relaxed);
}

// A record's or a P's sum's counters (the same names in both).
template <class Counters>
gstats_values values_of(const Counters& s) {
  gstats_values v;
  v.running_ns = s.running_ns.load(relaxed);
  v.runnable_ns = s.runnable_ns.load(relaxed);
  v.blocked_ns = s.blocked_ns.load(relaxed);
  v.chan_sends = s.chan_sends.load(relaxed);
  v.chan_recvs = s.chan_recvs.load(relaxed);
  v.bytes_read = s.bytes_read.load(relaxed);
  v.bytes_written = s.bytes_written.load(relaxed);
  return v;
}

void clear(gstats_ended& e) {
  for (auto* a : {&e.running_ns, &e.runnable_ns, &e.blocked_ns}) a->store(0, relaxed);
  for (auto* a : {&e.chan_sends, &e.chan_recvs, &e.bytes_read, &e.bytes_written, &e.goroutines}) a->store(0, relaxed);
  for (auto& slot : e.by_reason) {
    slot.reason.store(nullptr, relaxed);
    slot.ns.store(0, relaxed);
  }
}

std::vector<blocked_time> sorted(const std::map<std::string, std::pair<const char*, std::int64_t>>& by) {
  std::vector<blocked_time> out;
  for (const auto& kv : by) out.push_back({kv.second.first, kv.second.second});
  std::sort(out.begin(), out.end(), [](const blocked_time& a, const blocked_time& b) { return a.ns > b.ns; });
  return out;
}

void gather_reasons(const g_stats::slot* slots, std::map<std::string, std::pair<const char*, std::int64_t>>& by) {
  for (int i = 0; i < gstats_reasons; ++i) {
    const char* r = slots[i].reason.load(relaxed);
    std::int64_t ns = slots[i].ns.load(relaxed);
    if (r == nullptr || ns == 0) continue;
    auto& e = by[r];
    e.first = r;
    e.second += ns;
  }
}

}  // namespace

void gstats_values::add(const gstats_values& o) noexcept {
  running_ns += o.running_ns;
  runnable_ns += o.runnable_ns;
  blocked_ns += o.blocked_ns;
  chan_sends += o.chan_sends;
  chan_recvs += o.chan_recvs;
  bytes_read += o.bytes_read;
  bytes_written += o.bytes_written;
}

void gstats_created(g* gp) {
  g_stats& s = record(gp);
  enter(s, gstate::runnable, os::nanotime());
}

void gstats_start(g* gp) {
  g_stats& s = record(gp);
  std::int64_t now = os::nanotime();
  close_state(s, now);
  enter(s, gstate::running, now);
}

void gstats_stop(g* gp, const char* blocked_reason) {
  const g_stats* had = gp->stats.load(std::memory_order_acquire);
  const bool fresh = had == nullptr || had->owner.load(relaxed) != gp->id;
  g_stats& s = record(gp);
  std::int64_t now = os::nanotime();
  if (fresh) {
    // No record until now: it made no transition since instrumentation
    // began (each makes one), so it ran all that time, as gstats_take
    // showed it; its running time goes on from there, never back.
    const std::int64_t since = started_ns.load(relaxed);
    if (since != 0 && now > since) s.running_ns.fetch_add(now - since, relaxed);
  } else {
    close_state(s, now);
  }
  if (blocked_reason) {
    enter(s, gstate::blocked, now, blocked_reason);
  } else {
    enter(s, gstate::runnable, now);
  }
}

void gstats_ready(g* gp) {
  g_stats& s = record(gp);
  std::int64_t now = os::nanotime();
  close_state(s, now);
  enter(s, gstate::runnable, now);
}

void gstats_end(p* pp, g* gp) {
  g_stats& s = record(gp);
  close_state(s, os::nanotime());
  gstats_ended& e = pp && !pp->is_private ? pp->gstats : private_ended;
  gstats_values v = values_of(s);
  e.running_ns.fetch_add(v.running_ns, relaxed);
  e.runnable_ns.fetch_add(v.runnable_ns, relaxed);
  e.blocked_ns.fetch_add(v.blocked_ns, relaxed);
  e.chan_sends.fetch_add(v.chan_sends, relaxed);
  e.chan_recvs.fetch_add(v.chan_recvs, relaxed);
  e.bytes_read.fetch_add(v.bytes_read, relaxed);
  e.bytes_written.fetch_add(v.bytes_written, relaxed);
  e.goroutines.fetch_add(1, relaxed);
  for (const auto& slot : s.by_reason) {
    if (const char* r = slot.reason.load(relaxed)) add_reason(e.by_reason, r, slot.ns.load(relaxed));
  }
  // The goroutine is gone: a snapshot must not count it twice.
  s.owner.store(0, relaxed);
  clear(s);
}

void gstats_chan(bool send) {
  if (g* gp = this_g()) (send ? record(gp).chan_sends : record(gp).chan_recvs).fetch_add(1, relaxed);
}

void gstats_bytes(bool read, std::uint64_t n) {
  if (g* gp = this_g()) (read ? record(gp).bytes_read : record(gp).bytes_written).fetch_add(n, relaxed);
}

wait_label_scope::wait_label_scope(const char* label) noexcept : gp_(this_g()) {
  if (gp_ == nullptr) return;
  prev_ = gp_->wait_label;
  gp_->wait_label = label;
}

wait_label_scope::~wait_label_scope() {
  if (gp_ != nullptr) gp_->wait_label = prev_;
}

void gstats_start_all() {
  if (gstats_on.load()) return;
  for_each_g(
      [](g* gp, void*) {
        if (g_stats* s = gp->stats.load(std::memory_order_acquire)) {
          s->owner.store(0, relaxed);
          clear(*s);
        }
      },
      nullptr);
  {
    lock_scope lk(sched.lock);
    for (p* pp : sched.allp) clear(pp->gstats);
  }
  clear(private_ended);
  started_ns.store(os::nanotime(), relaxed);
  gstats_on.store(true, std::memory_order_release);
}

void gstats_stop_all() { gstats_on.store(false, std::memory_order_release); }

gstats_snapshot gstats_take() {
  gstats_snapshot snap;
  snap.on = gstats_on.load(std::memory_order_acquire);
  snap.since_ns = started_ns.load(relaxed);
  snap.now_ns = os::nanotime();
  // Off, records may be stale (a goroutine that ended while off kept its own).
  if (!snap.on) return snap;
  std::map<std::string, std::pair<const char*, std::int64_t>> reasons;
  struct walk {
    gstats_snapshot* snap;
    std::map<std::string, std::pair<const char*, std::int64_t>>* reasons;
  } ctx{&snap, &reasons};
  for_each_g(
      [](g* gp, void* arg) {
        auto* w = static_cast<walk*>(arg);
        if (gp->is_g0) return;
        g_stats* s = gp->stats.load(std::memory_order_acquire);
        std::uint32_t status = gp->status.load(std::memory_order_acquire) & ~scan_bit;
        std::uint64_t id = s == nullptr ? 0 : s->owner.load(relaxed);
        if (id == 0 && status == g_running) {
          // No record, yet on an M: it has made no scheduler transition
          // since instrumentation began (each makes a record), so it has
          // run all that time: a goroutine that spins and never switches
          // (its yields find nothing else to run) shows its CPU too.
          goroutine_stats row;
          row.id = gp->id;
          row.state = gstate::running;
          row.values.running_ns = std::max<std::int64_t>(0, w->snap->now_ns - w->snap->since_ns);
          row.name = g_name(gp);
          row.creation_pc = gp->creation_pc.load(relaxed);
          row.parent_id = gp->parent_id.load(relaxed);
          if (row.id == 0) return;
          w->snap->total.add(row.values);
          w->snap->goroutines.push_back(std::move(row));
          return;
        }
        if (id == 0 || status == g_unused || status == g_dead) return;
        goroutine_stats row;
        row.id = id;
        row.state = s->state.load(relaxed);
        row.reason = row.state == gstate::blocked ? s->reason.load(relaxed) : nullptr;
        row.values = values_of(*s);
        std::map<std::string, std::pair<const char*, std::int64_t>> own;
        gather_reasons(s->by_reason, own);
        // The current state's time so far: a goroutine that spins shows its CPU.
        std::int64_t since = s->since.load(relaxed);
        if (since != 0 && w->snap->now_ns > since) {
          std::int64_t d = w->snap->now_ns - since;
          if (row.state == gstate::running) row.values.running_ns += d;
          if (row.state == gstate::runnable) row.values.runnable_ns += d;
          if (row.state == gstate::blocked) {
            row.values.blocked_ns += d;
            const char* r = row.reason ? row.reason : "blocked";
            auto& e = own[r];
            e.first = r;
            e.second += d;
          }
        }
        for (const auto& kv : own) {
          auto& e = (*w->reasons)[kv.first];
          e.first = kv.second.first;
          e.second += kv.second.second;
        }
        row.blocked = sorted(own);
        std::string name = g_name(gp);
        void* created = gp->creation_pc.load(relaxed);
        goroutine_id parent = gp->parent_id.load(relaxed);
        if (s->owner.load(relaxed) == id) {  // still that goroutine's
          row.name = std::move(name);
          row.creation_pc = created;
          row.parent_id = parent;
        }
        w->snap->total.add(row.values);
        w->snap->goroutines.push_back(std::move(row));
      },
      &ctx);
  auto fold = [&](const gstats_ended& e) {
    snap.total.add(values_of(e));
    snap.ended += e.goroutines.load(relaxed);
    gather_reasons(e.by_reason, reasons);
  };
  {
    lock_scope lk(sched.lock);
    for (p* pp : sched.allp) fold(pp->gstats);
  }
  fold(private_ended);
  snap.blocked = sorted(reasons);
  std::sort(snap.goroutines.begin(), snap.goroutines.end(),
            [](const goroutine_stats& a, const goroutine_stats& b) { return a.id < b.id; });
  return snap;
}

}  // namespace weft::detail
