// src/runtime/gstats.hpp: per-goroutine instrumentation.
//
// What each goroutine spent its time on since instrumentation began: time
// running on an M, time runnable (queued, waiting for an M), time blocked
// by wait reason, channel operations, bytes read and written on weft::net
// connections. A process's totals are its live goroutines' plus those that
// ended while instrumentation was on (folded into their P at their end).
//
// Cost. Off (the default), every hook site is one relaxed load of
// gstats_on and a predicted branch, beside the trace logger's own guard at
// the same scheduler transitions. On, a transition reads the clock and
// updates a few relaxed atomics of the goroutine's own record: no locks, no
// sharing between Ms except the record of a goroutine that moves.
//
// Records. A G's record (g::stats) is allocated the first time a hook sees
// the G while instrumentation is on and stays with the G object (Gs are
// recycled, never freed), so a snapshot may read any record at any time.
// A record belongs to the goroutine whose id it holds (owner): a hook that
// finds another id (the G was recycled) starts the record afresh, with its
// state's start unknown until its next transition. A goroutine with no
// record that is running when a snapshot is taken has made no transition
// since instrumentation began: the snapshot lists it as running since then
// (gstats_take), without making a record (snapshots only read); when it
// then stops, its new record starts with that time (gstats_stop), so its
// running time never goes back.
//
// Who writes. A record's state moves with its goroutine: the M that runs
// it (start, stop, end, channel and byte counts) or the goroutine or thread
// that readies it (ready). These never overlap for one goroutine (it is
// readied only after it parked). A snapshot reads concurrently: each field
// is a relaxed atomic, so a snapshot is a consistent-enough sample, not an
// exact cut (like /proc).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace weft::detail {

extern std::atomic<bool> gstats_on;
inline bool gstats_enabled() noexcept { return __builtin_expect(gstats_on.load(std::memory_order_relaxed), 0); }

// Distinct wait reasons a record keeps apart; later ones add to the last
// slot, reported as "other".
constexpr int gstats_reasons = 8;

// Counters as plain numbers: a snapshot's, and a sum's.
struct gstats_values {
  std::int64_t running_ns = 0;
  std::int64_t runnable_ns = 0;
  std::int64_t blocked_ns = 0;
  std::uint64_t chan_sends = 0;
  std::uint64_t chan_recvs = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  void add(const gstats_values& o) noexcept;
};

struct blocked_time {
  const char* reason;  // a static string ("chan receive"), or "other"
  std::int64_t ns;
};

enum class gstate : std::uint8_t { unknown, runnable, running, blocked };

struct g_stats {
  std::atomic<std::uint64_t> owner{0};  // the goroutine id it describes
  std::atomic<std::int64_t> running_ns{0}, runnable_ns{0}, blocked_ns{0};
  std::atomic<std::uint64_t> chan_sends{0}, chan_recvs{0}, bytes_read{0}, bytes_written{0};
  struct slot {
    std::atomic<const char*> reason{nullptr};
    std::atomic<std::int64_t> ns{0};
  };
  slot by_reason[gstats_reasons];
  std::atomic<gstate> state{gstate::unknown};
  std::atomic<std::int64_t> since{0};  // when the state began (os::nanotime)
  std::atomic<const char*> reason{nullptr};  // while blocked
  g_stats* next_made = nullptr;  // every record ever made, from a global head (gstats.cpp)
};

// Per P: what goroutines that ended on it while instrumenting had counted.
struct gstats_ended {
  std::atomic<std::int64_t> running_ns{0}, runnable_ns{0}, blocked_ns{0};
  std::atomic<std::uint64_t> chan_sends{0}, chan_recvs{0}, bytes_read{0}, bytes_written{0};
  std::atomic<std::uint64_t> goroutines{0};
  g_stats::slot by_reason[gstats_reasons];
};

struct g;
struct p;

// Hooks: call only when gstats_enabled().
void gstats_created(g* gp);  // a new goroutine, runnable
void gstats_start(g* gp);  // gp begins running on an M
void gstats_stop(g* gp, const char* blocked_reason);  // left its M: blocked (reason) or runnable (null)
void gstats_ready(g* gp);  // blocked -> runnable
void gstats_end(p* pp, g* gp);  // ended on pp: its counts join pp's
void gstats_chan(bool send);  // the running goroutine sends or receives
void gstats_bytes(bool read, std::uint64_t n);  // it read or wrote n bytes on a connection

// One goroutine's row in a snapshot.
struct goroutine_stats {
  std::uint64_t id = 0;
  std::string name;
  gstate state = gstate::unknown;
  const char* reason = nullptr;  // while blocked
  gstats_values values;  // the current state's time so far included
  std::vector<blocked_time> blocked;  // by reason, longest first
  void* creation_pc = nullptr;  // where it was created (go's call site), for "created by"; null if unknown
  std::uint64_t parent_id = 0;  // the goroutine that created it; 0 if none
};

struct gstats_snapshot {
  bool on = false;
  std::int64_t since_ns = 0;  // when instrumentation began (os::nanotime)
  std::int64_t now_ns = 0;
  std::vector<goroutine_stats> goroutines;  // live ones with a record, by id
  gstats_values total;  // live and ended
  std::uint64_t ended = 0;  // goroutines that ended while instrumenting
  std::vector<blocked_time> blocked;  // the process's, by reason, longest first
};

// For the life of the scope, the calling goroutine's blocked time counts
// under `label` (a static string) rather than under its parks' reasons:
// code that waits on something remote says so (wire/remote_wait.hpp).
// Outside a goroutine it does nothing; scopes nest (the inner one counts).
// Costs a thread-local lookup and two stores, on or off.
class wait_label_scope {
 public:
  explicit wait_label_scope(const char* label) noexcept;
  ~wait_label_scope();
  wait_label_scope(const wait_label_scope&) = delete;
  wait_label_scope& operator=(const wait_label_scope&) = delete;

 private:
  g* gp_;
  const char* prev_ = nullptr;
};

// Starts instrumentation (counters from zero) if it is off; idempotent.
void gstats_start_all();
void gstats_stop_all();
gstats_snapshot gstats_take();

}  // namespace weft::detail
