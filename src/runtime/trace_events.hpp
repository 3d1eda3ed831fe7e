// src/runtime/trace_events.hpp: scheduler event recording.
//
// When tracing is on, each M appends events to its own buffer (no sharing on
// the hot path). When it is off, an event costs one relaxed load of a global
// flag and a predicted branch: every recording site below is such a guard.
//
// Readers: tests (trace_stop), and the runtime stub, which drains the
// buffers every few tens of milliseconds without stopping (trace_drain) and
// streams them to a runtime server that asked for them (docs/protocol.md,
// "Trace events"). A buffer holds at most trace_buffer_limit events between
// two drains; beyond that, events are dropped and counted, so a reader that
// falls behind costs a bounded amount of memory and is told what it missed.
//
// Texts are static strings (wait reasons, blocking calls' function names,
// message names), so an event stays a fixed-size record; the one dynamic
// string, a goroutine's name, is copied beside the events (names): at its
// creation, and for a goroutine that predates the trace (one started on
// request, weft trace), at its first go_start in this trace. trace_epoch
// tells the two apart: each trace_start bumps it, and a G whose
// g::trace_epoch differs has not been named in this trace yet. The check
// runs only while tracing is on, on the M about to run the G.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "platform/spinlock.hpp"

namespace weft::detail {

// The values are the protocol's TraceEvent.kind (docs/protocol.md): only
// append.
enum class ev : std::uint8_t {
  go_create,  // g: the creator; arg: the new G (its name in trace_batch.names)
  go_start,  // g starts running on an M
  go_block,  // g parked; text: its wait reason ("chan receive")
  go_unblock,  // g readied; arg: the waker G (0: not a goroutine)
  go_end,
  steal,  // g was stolen; arg: the victim P
  m_park,
  m_wake,
  go_yield,  // g left its M runnable (yield, preemption, a requeue)
  chan_send,  // g sends on a channel; arg: the channel's address; text: "try" for try_send
  chan_recv,  // likewise for receives
  blocking_enter,  // g enters weft::blocking; text: the calling function
  blocking_exit,
  remote_call,  // g sent a request to the runtime server; arg: its id; text: the message
  remote_reply,  // the final reply to request arg arrived (g: the stub's reader)
  dropped,  // not recorded: a trace_batch's dropped count on the wire
  xref_call,  // g sends an xref call to a peer; arg: its flow id (circuit/xref_flow.hpp)
  xref_reply,  // the reply to xref call arg arrived (g: the link's reader)
  xref_serve,  // g starts serving a peer's xref call arg
  xref_served,  // g is done serving call arg
};
const char* ev_name(ev e) noexcept;

struct trace_event {
  std::int64_t ts;  // os::nanotime() once drained (in an M's buffer, the raw stamp: trace_events.cpp)
  std::uint64_t g;  // the goroutine concerned (0: none)
  std::uint64_t arg;  // see ev
  const char* text;  // a static string, or null
  std::int32_t m;  // the M that recorded it
  ev type;
};

// Events per M between two drains; more are dropped and counted.
constexpr std::size_t trace_buffer_limit = std::size_t{1} << 16;

struct trace_buffer {
  spinlock lock;  // taken only while tracing is on
  std::vector<trace_event> events GUARDED_BY(lock);
  // The buffer the last drain emptied, capacity kept: the next drain hands it
  // to the M, so recording does not regrow a vector after every drain.
  std::vector<trace_event> spare GUARDED_BY(lock);
  std::vector<std::pair<std::uint64_t, std::string>> names GUARDED_BY(lock);  // new G -> its name
  std::uint64_t dropped GUARDED_BY(lock) = 0;
};

// What a drain returns: every M's events ordered by time, the names of the
// goroutines created or first started among them, and how many were
// dropped since the last.
struct trace_batch {
  std::vector<trace_event> events;
  std::vector<std::pair<std::uint64_t, std::string>> names;
  std::uint64_t dropped = 0;
};

extern std::atomic<bool> trace_on;
extern std::atomic<std::uint32_t> trace_epoch;

inline bool tracing() noexcept { return __builtin_expect(trace_on.load(std::memory_order_relaxed), 0); }

struct m;
struct g;
void trace_record(m* mp, ev type, std::uint64_t g, std::uint64_t arg, const char* text = nullptr);
// The calling context's M and G (nothing for a plain thread).
void trace_record_here(ev type, std::uint64_t arg, const char* text);
void trace_record_create(m* mp, std::uint64_t parent, g* child);
// go_start of gp on mp, and gp's name if this trace has not had it yet.
// REQUIRES: gp is about to run on mp.
void trace_record_start(m* mp, g* gp);
// The same for the calling goroutine, which runs already: a reader that
// starts recording gives itself a "running" slice and its name.
void trace_here_start();

inline void trace_ev(m* mp, ev type, std::uint64_t g, std::uint64_t arg = 0, const char* text = nullptr) {
  if (tracing()) trace_record(mp, type, g, arg, text);
}
// An event of the running goroutine, from code that has no M at hand
// (channels, the stub).
inline void trace_here(ev type, std::uint64_t arg = 0, const char* text = nullptr) {
  if (tracing()) trace_record_here(type, arg, text);
}

// Clears the buffers and starts recording.
void trace_start();
// Takes what every M recorded so far; recording goes on.
trace_batch trace_drain();
// The same into b, whose vectors' capacity is reused (a reader that drains
// every few milliseconds allocates, and faults in, nothing new).
void trace_drain_into(trace_batch& b);
// Stops recording and takes the rest.
trace_batch trace_finish();
void trace_finish_into(trace_batch& b);
// Stops tracing and returns every M's events, merged and ordered by time.
std::vector<trace_event> trace_stop();

}  // namespace weft::detail
