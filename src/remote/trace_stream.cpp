// src/remote/trace_stream.cpp: draining the runtime's events into
// TraceEvents frames (design in trace_stream.hpp).
#include "remote/trace_stream.hpp"

#include <mutex>
#include <string>

#include <weft/errors.hpp>
#include <weft/go.hpp>

namespace weft::remote::detail {

void trace_stream::start() {
  weft::detail::trace_start();
  // The caller (goroutine 1, before main) is running already: without this
  // its first stretch would have no "running" slice (nor its track a name).
  weft::detail::trace_here_start();
  weft::go(weft::go_options{.name = "weft: runtime stub tracer"}, [this] { loop(); });
}

void trace_stream::loop() {
  while (!finished_.load(std::memory_order_acquire) && !link_.closed()) {
    weft::this_goroutine::sleep_for(drain_period);
    std::lock_guard lk(mu_);
    if (finished_.load(std::memory_order_acquire)) return;  // finish() sent the rest
    weft::detail::trace_drain_into(batch_);
    send();
  }
}

void trace_stream::finish() noexcept {
  try {
    std::lock_guard lk(mu_);
    if (finished_.exchange(true, std::memory_order_acq_rel)) return;
    weft::detail::trace_finish_into(batch_);
    send();
  } catch (...) {}  // a lost link: the server keeps what arrived
}

void trace_stream::send() {
  framed_.clear();
  trace_framed(batch_, max_events_per_frame, framed_);
  try {
    link_.send_framed(framed_);
  } catch (const remote_error&) {
    // the link is closed: the stub's reader reports why
  }
}

}  // namespace weft::remote::detail
