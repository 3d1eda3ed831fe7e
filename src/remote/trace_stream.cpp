// src/remote/trace_stream.cpp: draining the runtime's events into
// TraceEvents frames (design in trace_stream.hpp).
#include "remote/trace_stream.hpp"

#include <mutex>
#include <string>
#include <unordered_map>

#include <weft/errors.hpp>
#include <weft/go.hpp>

#include "wire/trace_kind.hpp"

namespace weft::remote::detail {

namespace {

using weft::detail::ev;

// The runtime's numbers are the protocol's.
static_assert(std::uint32_t(ev::go_create) == wire::tk_go_create && std::uint32_t(ev::go_block) == wire::tk_go_block &&
              std::uint32_t(ev::m_wake) == wire::tk_m_wake && std::uint32_t(ev::go_yield) == wire::tk_go_yield &&
              std::uint32_t(ev::chan_recv) == wire::tk_chan_recv &&
              std::uint32_t(ev::blocking_exit) == wire::tk_blocking_exit &&
              std::uint32_t(ev::remote_reply) == wire::tk_remote_reply &&
              std::uint32_t(ev::dropped) == wire::tk_dropped && std::uint32_t(ev::xref_call) == wire::tk_xref_call &&
              std::uint32_t(ev::xref_served) == wire::tk_xref_served);

}  // namespace

std::vector<v1::Frame> trace_frames(const weft::detail::trace_batch& b, std::size_t max_events) {
  // Each name goes out once: on its goroutine's go_create, or on the first
  // go_start of one that predates the trace (trace_events.hpp).
  std::unordered_map<std::uint64_t, const std::string*> names;
  for (const auto& [id, name] : b.names) names.emplace(id, &name);
  auto name_of = [&](std::uint64_t g, v1::TraceEvent* t) {
    auto it = names.find(g);
    if (it == names.end()) return;
    t->set_text(*it->second);
    names.erase(it);
  };
  std::vector<v1::Frame> frames;
  v1::TraceEvents* out = nullptr;
  auto next = [&]() -> v1::TraceEvent* {
    if (out == nullptr || static_cast<std::size_t>(out->events_size()) >= max_events) {
      frames.emplace_back();
      out = frames.back().mutable_trace_events();
    }
    return out->add_events();
  };
  for (const weft::detail::trace_event& e : b.events) {
    if (e.type == ev::m_park || e.type == ev::m_wake) continue;  // the goroutines' story is enough
    v1::TraceEvent* t = next();
    t->set_time_ns(e.ts);
    t->set_kind(static_cast<std::uint32_t>(e.type));
    if (e.type == ev::go_create) {
      // On the wire the event belongs to the new goroutine (docs/protocol.md).
      t->set_goroutine(e.arg);
      t->set_arg(e.g);
      name_of(e.arg, t);
      continue;
    }
    t->set_goroutine(e.g);
    t->set_arg(e.arg);
    if (e.text) t->set_text(e.text);
    if (e.type == ev::go_start && !names.empty()) name_of(e.g, t);
  }
  if (b.dropped > 0) {
    v1::TraceEvent* t = next();
    t->set_time_ns(b.events.empty() ? 0 : b.events.back().ts);
    t->set_kind(static_cast<std::uint32_t>(ev::dropped));
    t->set_arg(b.dropped);
  }
  return frames;
}

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
    send(weft::detail::trace_drain());
  }
}

void trace_stream::finish() noexcept {
  try {
    std::lock_guard lk(mu_);
    if (finished_.exchange(true, std::memory_order_acq_rel)) return;
    send(weft::detail::trace_finish());
  } catch (...) {}  // a lost link: the server keeps what arrived
}

void trace_stream::send(const weft::detail::trace_batch& b) {
  for (const v1::Frame& f : trace_frames(b, max_events_per_frame)) {
    try {
      link_.send(f);
    } catch (const remote_error&) {
      return;  // the link is closed: the stub's reader reports why
    }
  }
}

}  // namespace weft::remote::detail
