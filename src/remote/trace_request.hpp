// src/remote/trace_request.hpp: a trace on request (Control TRACE,
// docs/protocol.md "Traces on request"; the `weft trace` command): an
// attached process records its runtime's events for duration_ms and
// answers with them as a Chrome/Perfetto trace.
//
// Design: the stub records and writes the document itself, with the trace
// logger's code (wire/trace_log.hpp, in memory), and answers
// ControlReply{data: the JSON, text: the summary table}. weftd only
// forwards the request and relays the answer, waiting its usual reply
// timeout plus duration_ms (server/control.hpp).
//   Rejected: streaming TraceEvents frames to weftd for the duration and
//   letting weftd build the document into the reply (as `weft remote
//   --trace` does into a file). weftd would keep a recorder per request,
//   route a stub's one-way frames to it, and free it on every way a
//   request ends (answer, timeout, detach, the tool leaving); the stub
//   would still convert every event to protobuf and send it over the link
//   whose remote calls the trace is showing. Here the events go from the
//   runtime's buffers to JSON in the process, once; weftd keeps nothing
//   new, and a stub that dies mid-trace is the detach weftd handles
//   already (the tool gets NOT_FOUND at once).
//   The cost: the JSON is built in the traced process (by one goroutine,
//   every drain_period, as trace_stream's protobuf frames would be), and
//   the process holds the document until it answers (max_trace_bytes).
//
// Invariants:
//   R1 One recording per process at a time. A TRACE while another runs,
//      or while the process streams to a trace logger (weft remote
//      --trace, weftd --trace: trace_stream.hpp), is refused (REFUSED,
//      saying which) and the other recording goes on untouched.
//   R2 Recording is on only while a TRACE is being answered: it stops when
//      duration_ms has passed, when the connection closes, or at detach.
//      Off, the runtime pays only the guard it always pays (trace_events.hpp).
//   R3 Bounded: the document is at most max_trace_bytes (12 MiB, under
//      the 16 MiB frame limit with room for the summary). Past it, events
//      are counted, not kept: the document's last event and the summary
//      say how many were dropped. Between drains each M holds at most
//      trace_buffer_limit events (trace_events.hpp). (The document is a
//      string that grows by doubling: near the cap its capacity, with the
//      old copy for a moment, may reach about twice the cap.)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace weft::remote::detail {

constexpr std::size_t max_trace_bytes = std::size_t{12} << 20;
constexpr std::int64_t max_trace_ms = 10 * 60 * 1000;  // a request longer than 10 minutes is a mistake

struct recorded_trace {
  std::string json;  // the Chrome/Perfetto document (trace_log's format)
  std::string summary;  // trace_summary's table
};

// Records this process's runtime events for `duration`, or until stop()
// says so (checked every drain_period), into a document of at most
// max_bytes. REQUIRES: inside weft::run, recording off, and the caller
// holds the process's one claim to it (R1).
recorded_trace record_trace(std::chrono::milliseconds duration, std::size_t max_bytes,
                            const std::function<bool()>& stop);

}  // namespace weft::remote::detail
