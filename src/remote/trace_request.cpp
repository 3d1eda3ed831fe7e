// src/remote/trace_request.cpp: recording a trace on request (design in
// trace_request.hpp), and the stub's answer to Control TRACE.
#include "remote/trace_request.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <weft/go.hpp>

#include "remote/stub.hpp"
#include "remote/trace_stream.hpp"
#include "runtime/trace_events.hpp"
#include "wire/trace_log.hpp"
#include "wire/utf8.hpp"

namespace weft::remote::detail {

namespace {

using weft::detail::ev;

// The events of a batch that a document would hold (trace_frames leaves
// the M-level ones out), and those the runtime dropped already.
std::uint64_t batch_events(const weft::detail::trace_batch& b) {
  std::uint64_t n = b.dropped;
  for (const weft::detail::trace_event& e : b.events)
    if (e.type != ev::m_park && e.type != ev::m_wake) ++n;
  return n;
}

}  // namespace

recorded_trace record_trace(std::chrono::milliseconds duration, std::size_t max_bytes,
                            const std::function<bool()>& stop) {
  constexpr std::uint64_t self = 1;  // the one program in this document
  recorded_trace out;
  wire::trace_log log(max_bytes, [&out](std::string_view table) { out.summary.assign(table); });
  std::error_code ec;
  log.attach(self, ::getpid(), std::filesystem::read_symlink("/proc/self/exe", ec).string());
  auto keep = [&](const weft::detail::trace_batch& b) {
    if (log.full()) {
      log.not_recorded(self, batch_events(b));  // counted, not converted (R3)
      return;
    }
    for (const v1::Frame& f : trace_frames(b, max_events_per_frame)) log.record(self, f.trace_events());
  };
  const auto end = std::chrono::steady_clock::now() + duration;
  weft::detail::trace_start();
  weft::detail::trace_here_start();  // this goroutine runs already
  while (!stop()) {
    const auto left = end - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    weft::this_goroutine::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, std::chrono::steady_clock::duration(drain_period)));
    keep(weft::detail::trace_drain());
  }
  keep(weft::detail::trace_finish());  // R2: off before the answer goes out
  log.detach(self);  // the summary
  log.close();
  out.json = log.take();
  return out;
}

void stub::answer_trace(v1::Frame& r, std::int64_t duration_ms) {
  auto refuse = [&r](const std::string& why) {
    v1::Error* e = r.mutable_error();
    e->set_code(v1::Error::REFUSED);
    e->set_message(weft::wire::utf8_text(why));
  };
  if (duration_ms <= 0 || duration_ms > max_trace_ms)
    return refuse("TRACE duration_ms " + std::to_string(duration_ms) + " is not between 1 and " +
                  std::to_string(max_trace_ms) + " (10 minutes)");
  if (trace_)
    return refuse(
        "this process streams its runtime events to its weftd's trace logger already (weft remote --trace or "
        "weftd --trace): they are in that trace file");
  if (trace_requested_.exchange(true))
    return refuse("a trace of this process is being recorded for another request; try again when it ends");
  if (weft::detail::tracing() || detaching_.load()) {
    trace_requested_.store(false);
    return refuse(detaching_.load() ? "this process is detaching" : "this process records its runtime events already");
  }
  recorded_trace t = record_trace(std::chrono::milliseconds(duration_ms), max_trace_bytes,
                                  [this] { return detaching_.load() || link_->closed(); });
  trace_requested_.store(false);
  v1::ControlReply* reply = r.mutable_control_reply();
  reply->set_text(weft::wire::utf8_text(std::move(t.summary)));  // it names goroutines
  reply->set_data(std::move(t.json));
}

}  // namespace weft::remote::detail
