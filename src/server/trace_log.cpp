// src/server/trace_log.cpp: TraceEvents to Chrome trace events (design in
// trace_log.hpp).
#include "server/trace_log.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "wire/trace_kind.hpp"

namespace weft::server {

namespace {

// The last part of a path, for track names.
std::string base_name(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"0x%llx\"", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// One goroutine's open slices (start times; -1: none open).
struct goroutine_track {
  std::string name;  // go_options.name, or ""
  std::int64_t running = -1;
  std::int64_t blocked = -1;
  std::string reason;
  std::int64_t blocking = -1;
  std::string blocking_fn;
};

struct trace_log::program {
  std::int64_t pid = 0;
  std::string binary;
  std::int64_t last_ns = 0;
  std::unordered_map<std::uint64_t, goroutine_track> gs;
  struct call {
    std::uint64_t g;
    std::string name;
  };
  std::unordered_map<std::uint64_t, call> calls;  // request id -> its caller
  trace_summary summary;

  // The common head of an event on goroutine g's track.
  std::string head(const char* ph, std::uint64_t g, std::string_view name, std::int64_t ts_us_base,
                   std::int64_t t) const {
    char ts[40];
    std::snprintf(ts, sizeof ts, "%.3f", double(t - ts_us_base) / 1e3);
    return std::string("{\"ph\":\"") + ph + "\",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(g) +
           ",\"ts\":" + ts + ",\"name\":" + json_string(name);
  }
};

trace_log::trace_log(const std::string& path, sink summary) : summary_(std::move(summary)), file_(path) {}

trace_log::~trace_log() { close(); }

void trace_log::attach(std::uint64_t client, std::int64_t pid, const std::string& binary) {
  std::lock_guard lk(mu_);
  auto p = std::make_unique<program>();
  p->pid = pid;
  p->binary = binary;
  std::string name = base_name(binary) + " (pid " + std::to_string(pid) + ")";
  file_.event("{\"ph\":\"M\",\"pid\":" + std::to_string(pid) +
              ",\"name\":\"process_name\",\"args\":{\"name\":" + json_string(name) + "}}");
  file_.flush();
  programs_[client] = std::move(p);
}

void trace_log::record(std::uint64_t client, const runtime::v1::TraceEvents& events) {
  std::lock_guard lk(mu_);
  auto it = programs_.find(client);
  if (it == programs_.end()) return;  // a tool, or a stub that did not say who it is
  for (const runtime::v1::TraceEvent& e : events.events()) {
    if (base_ns_ < 0) base_ns_ = e.time_ns();
    one(*it->second, e);
  }
  file_.flush();
}

void trace_log::one(program& p, const runtime::v1::TraceEvent& e) {
  const std::int64_t t = std::max(e.time_ns(), base_ns_);
  p.last_ns = std::max(p.last_ns, t);
  p.summary.event();
  const std::uint64_t g = e.goroutine();
  auto slice = [&](std::uint64_t tid, std::string_view name, const char* cat, std::int64_t since,
                   const std::string& args = "") {
    char dur[40];
    std::snprintf(dur, sizeof dur, "%.3f", double(std::max<std::int64_t>(t - since, 0)) / 1e3);
    file_.event(p.head("X", tid, name, base_ns_, since) + ",\"cat\":\"" + cat + "\",\"dur\":" + dur +
                (args.empty() ? "" : ",\"args\":{" + args + "}") + "}");
  };
  auto instant = [&](std::uint64_t tid, std::string_view name, const std::string& args = "") {
    file_.event(p.head("i", tid, name, base_ns_, t) + ",\"s\":\"t\"" +
                (args.empty() ? "" : ",\"args\":{" + args + "}") + "}");
  };
  auto name_track = [&](std::uint64_t tid, const std::string& name) {
    std::string shown = name.empty() ? "goroutine " + std::to_string(tid) : name;
    file_.event("{\"ph\":\"M\",\"pid\":" + std::to_string(p.pid) + ",\"tid\":" + std::to_string(tid) +
                ",\"name\":\"thread_name\",\"args\":{\"name\":" + json_string(shown) + "}}");
  };
  // A goroutine first seen here predates tracing (goroutine 1, say): its
  // track still gets a name.
  auto track = [&](std::uint64_t id) -> goroutine_track& {
    auto [it, fresh] = p.gs.try_emplace(id);
    if (fresh && e.kind() != wire::tk_go_create) name_track(id, "");
    return it->second;
  };
  auto end_running = [&](goroutine_track& gt) {
    if (gt.running >= 0) slice(g, "running", "sched", gt.running);
    gt.running = -1;
  };
  auto end_block = [&](goroutine_track& gt, const std::string& args) {
    if (gt.blocked < 0) return;
    slice(g, gt.reason, "block", gt.blocked, args);
    p.summary.block(g, gt.name, gt.reason, t - gt.blocked, false);
    gt.blocked = -1;
  };
  if (g == 0 && e.kind() != wire::tk_dropped) return;  // every other kind concerns a goroutine
  switch (e.kind()) {
    case wire::tk_go_create: {
      goroutine_track& gt = track(g);
      gt.name = e.text().substr(0, 200);
      p.summary.created();
      name_track(g, gt.name);
      instant(g, "created", e.arg() ? "\"by\":" + std::to_string(e.arg()) : "");
      break;
    }
    case wire::tk_go_start: {
      goroutine_track& gt = track(g);
      end_block(gt, "");  // its unblock was not seen (dropped)
      end_running(gt);
      gt.running = t;
      break;
    }
    case wire::tk_go_block: {
      goroutine_track& gt = track(g);
      end_running(gt);
      gt.blocked = t;
      gt.reason = e.text().empty() ? "blocked" : e.text().substr(0, 100);
      break;
    }
    case wire::tk_go_unblock: end_block(track(g), e.arg() ? "\"woken_by\":" + std::to_string(e.arg()) : ""); break;
    case wire::tk_go_yield: end_running(track(g)); break;
    case wire::tk_go_end: {
      goroutine_track& gt = track(g);
      end_running(gt);
      instant(g, "end");
      p.summary.ended();
      p.gs.erase(g);
      break;
    }
    case wire::tk_steal: instant(g, "stolen", "\"from_p\":" + std::to_string(e.arg())); break;
    case wire::tk_chan_send:
    case wire::tk_chan_recv: {
      bool send = e.kind() == wire::tk_chan_send;
      p.summary.chan_op(e.arg(), send, track(g).name);
      std::string what = send ? "chan send" : "chan receive";
      if (!e.text().empty()) what = e.text().substr(0, 20) + " " + what;
      instant(g, what, "\"chan\":" + hex(e.arg()));
      break;
    }
    case wire::tk_blocking_enter: {
      goroutine_track& gt = track(g);
      gt.blocking = t;
      gt.blocking_fn = e.text().substr(0, 200);
      break;
    }
    case wire::tk_blocking_exit: {
      goroutine_track& gt = track(g);
      if (gt.blocking >= 0) slice(g, "blocking: " + gt.blocking_fn, "blocking", gt.blocking);
      gt.blocking = -1;
      break;
    }
    case wire::tk_remote_call: {
      track(g);
      if (p.calls.size() >= max_calls) break;  // its reply will find nothing: no slice
      std::string name = e.text().empty() ? "remote call" : e.text().substr(0, 60);
      file_.event(p.head("b", g, name, base_ns_, t) + ",\"cat\":\"remote\",\"id\":" + hex(e.arg()) + "}");
      p.calls[e.arg()] = program::call{g, std::move(name)};
      break;
    }
    case wire::tk_remote_reply: {
      auto it = p.calls.find(e.arg());
      if (it == p.calls.end()) break;
      file_.event(p.head("e", it->second.g, it->second.name, base_ns_, t) +
                  ",\"cat\":\"remote\",\"id\":" + hex(e.arg()) + "}");
      p.calls.erase(it);
      break;
    }
    case wire::tk_dropped:
      p.summary.dropped(e.arg());
      file_.event("{\"ph\":\"i\",\"s\":\"p\",\"pid\":" + std::to_string(p.pid) +
                  ",\"tid\":0,\"ts\":" + std::to_string(double(t - base_ns_) / 1e3) + ",\"name\":\"" +
                  std::to_string(e.arg()) + " events dropped\"}");
      break;
    default: break;  // a later kind: skipped (docs/protocol.md)
  }
}

void trace_log::finish(program& p) {
  // What was open when the program left ends at its last event.
  for (auto& [key, gt] : p.gs) {
    const auto id = key;  // clang 14 cannot capture a structured binding
    char dur[40];
    auto close_at_end = [&](std::int64_t since, std::string_view name, const char* cat) {
      std::snprintf(dur, sizeof dur, "%.3f", double(std::max<std::int64_t>(p.last_ns - since, 0)) / 1e3);
      file_.event(p.head("X", id, name, base_ns_, since) + ",\"cat\":\"" + cat + "\",\"dur\":" + dur + "}");
    };
    if (gt.running >= 0) close_at_end(gt.running, "running", "sched");
    if (gt.blocking >= 0) close_at_end(gt.blocking, "blocking: " + gt.blocking_fn, "blocking");
    if (gt.blocked >= 0) {
      close_at_end(gt.blocked, gt.reason, "block");
      p.summary.block(id, gt.name, gt.reason, p.last_ns - gt.blocked, true);
    }
  }
  file_.flush();
  if (summary_)
    summary_(p.summary.table(base_name(p.binary) + " (pid " + std::to_string(p.pid) + ")") + "  trace in " +
             file_.path() + " (open it in ui.perfetto.dev)\n");
}

void trace_log::detach(std::uint64_t client) {
  std::lock_guard lk(mu_);
  auto it = programs_.find(client);
  if (it == programs_.end()) return;
  finish(*it->second);
  programs_.erase(it);
}

void trace_log::close() {
  std::lock_guard lk(mu_);
  for (auto& [client, p] : programs_) finish(*p);
  programs_.clear();
  file_.close();
}

}  // namespace weft::server
