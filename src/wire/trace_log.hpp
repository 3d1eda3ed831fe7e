// src/wire/trace_log.hpp: the trace logger (`weftd --trace FILE`,
// `weft remote --trace FILE`, and a stub answering Control TRACE). Here, in
// wire/, because both weftd and the stub (remote/) write its format.
//
// Sessions hand it the TraceEvents their stubs stream (docs/protocol.md,
// "Trace events"); it turns them into Chrome trace events in one file:
// one process track per attached program (its pid), one thread track per
// goroutine (named after go_options.name, else "goroutine N"). On a
// goroutine's track:
//   X "running"              from go_start to go_block, go_yield or go_end
//   X <wait reason>          from go_block to go_unblock (cat "block")
//   X "blocking: <function>" a weft::blocking call (cat "blocking")
//   b/e <message>            a request to the runtime server, until its
//                            final reply (cat "remote": async, since the
//                            goroutine parks meanwhile)
//   b/e "xref call"          an xref call to another process, until its
//                            reply arrives (cat "xref", async likewise)
//   b/e "xref serve"         serving another process's xref call
//   s/f "xref call"          a flow from the caller's track to the callee's
//                            (cat "xref", id: the flow id both compute)
//   i  chan send/receive, created, stolen, end
// The flows are the Chrome format's v1 flow events ("ph":"s" then "f"
// with "bp":"e", paired by cat, name and id), which ui.perfetto.dev
// imports and draws as arrows: each binds to the slice open on its track
// at its time, the "running" slice of the goroutine that calls or serves
// (a goroutine runs when it sends a call or starts serving one). The call
// and serve slices are async, not X: a goroutine parks and runs again
// within them, so X slices there would not nest. (Perfetto's own v2
// flows, bind_id with flow_in/flow_out, are Perfetto's alone; v1 is the
// one chrome://tracing draws too.) The two ends may be in two
// documents (weft trace) or one (weftd --trace); a merged document has
// both, each on its own pid.
// When a program detaches, its open slices end at its last event and its
// summary (trace_summary.hpp) goes to the summary sink (weftd: stderr).
//
// Per program it keeps one record per live goroutine, the outstanding
// remote calls (at most max_calls) and the summary's counts: memory is
// bounded by what the program has alive, not by how long it runs.
//
// In memory (the stub's trace on request, remote/trace_request.hpp): the
// document is capped (trace_json.hpp). Once it is full, no more events
// are recorded; the ones that arrive, and those the caller leaves out
// (not_recorded), are counted, and at detach one last event and the
// summary say how many were dropped.
//
// Threads: sessions call in from many goroutines; one weft::mutex
// serializes them (the file is one stream anyway).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <weft/mutex.hpp>

#include "wire/trace_json.hpp"
#include "wire/trace_summary.hpp"
#include "weft/runtime/v1/runtime.pb.h"

namespace weft::wire {

struct goroutine_track;

class trace_log {
 public:
  using sink = std::function<void(std::string_view)>;
  static constexpr std::size_t max_calls = 1u << 16;

  // Creates or truncates path (throws std::system_error); summaries go to
  // `summary` (null: nowhere).
  trace_log(const std::string& path, sink summary);
  // Into memory, a document of at most max_bytes (take() returns it).
  trace_log(std::size_t max_bytes, sink summary);
  trace_log(const trace_log&) = delete;
  trace_log& operator=(const trace_log&) = delete;
  ~trace_log();  // close()

  // Client `client` (the session's process_id) is program `binary`, pid `pid`.
  void attach(std::uint64_t client, std::int64_t pid, const std::string& binary);
  void record(std::uint64_t client, const runtime::v1::TraceEvents& events);
  // The client is gone: its open slices end, its summary is printed.
  void detach(std::uint64_t client);
  // In memory: the document is full, record() counts instead; the caller
  // may count what it leaves out itself (n events of client's).
  bool full();
  void not_recorded(std::uint64_t client, std::uint64_t n);
  // Detaches whoever is left and ends the file (valid JSON from then on).
  void close();
  // In memory, after close(): the document.
  std::string take();

  const std::string& path() const noexcept { return file_.path(); }

 private:
  struct program;
  void one(program& p, const runtime::v1::TraceEvent& e);
  void finish(program& p);
  // Goroutine g's thread_name: its name, else "goroutine N".
  void write_name(program& p, std::uint64_t g, goroutine_track& gt);

  weft::mutex mu_;
  sink summary_;
  trace_json_file file_;  // GUARDED_BY(mu_)
  std::int64_t base_ns_ = -1;  // the first event's time: ts 0 in the file; GUARDED_BY(mu_)
  std::unordered_map<std::uint64_t, std::unique_ptr<program>> programs_;  // GUARDED_BY(mu_)
  std::string line_;  // the event being written; GUARDED_BY(mu_)
  std::size_t max_bytes_ = 0;  // in memory: the cap
};

}  // namespace weft::wire
