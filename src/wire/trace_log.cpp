// src/wire/trace_log.cpp: TraceEvents to Chrome trace events (design in
// trace_log.hpp).
#include "wire/trace_log.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <mutex>

#include "wire/trace_kind.hpp"
#include "wire/trace_merge.hpp"

namespace weft::wire {

namespace {

// The flow events' name: Chrome's format pairs "s" and "f" by cat, name
// and id, so the caller's and the callee's must be the same.
constexpr std::string_view xref_flow_name = "xref call";

// The last part of a path, for track names.
std::string base_name(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void append_int(std::string& out, std::uint64_t v, int base = 10) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v, base);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  if (v < 0) out += '-';
  append_int(out, v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v));
}

// Nanoseconds as the format's microseconds with three decimals ("12.345"),
// in integers (printf's %f took 40% of a tracing weftd's time), appended
// at once.
void append_micros(std::string& out, std::int64_t ns) {
  char buf[32];
  char* at = buf;
  if (ns < 0) *at++ = '-';
  std::uint64_t mag = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  at = std::to_chars(at, buf + sizeof buf - 4, mag / 1000).ptr;
  auto frac = static_cast<unsigned>(mag % 1000);
  *at++ = '.';
  *at++ = static_cast<char>('0' + frac / 100);
  *at++ = static_cast<char>('0' + frac / 10 % 10);
  *at++ = static_cast<char>('0' + frac % 10);
  out.append(buf, at);
}

// "12 MiB", or "65536 bytes" for a cap that is not a whole MiB.
std::string size_text(std::size_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// `"key":value`, the value a number or (hex) a quoted "0x..." string: the
// args of an event, built without allocating.
class arg {
 public:
  arg() = default;
  arg(const char* key, std::uint64_t v, bool hex = false) {
    std::string_view k(key);
    if (k.size() > 16) k = k.substr(0, 16);
    char* at = text_;
    *at++ = '"';
    at = std::copy(k.begin(), k.end(), at);
    at = std::copy_n("\":", 2, at);
    if (hex) at = std::copy_n("\"0x", 3, at);
    at = std::to_chars(at, text_ + sizeof text_ - 1, v, hex ? 16 : 10).ptr;
    if (hex) *at++ = '"';
    size_ = static_cast<std::size_t>(at - text_);
  }
  std::string_view view() const { return {text_, size_}; }

 private:
  char text_[48];  // '"' key(16) '":' '"0x' 16 hex digits '"': 40 at most
  std::size_t size_ = 0;
};

}  // namespace

// One goroutine's open slices (start times; -1: none open).
struct goroutine_track {
  std::string name;  // go_options.name, or ""
  bool named = false;  // its thread_name is written
  std::int64_t running = -1;
  std::int64_t blocked = -1;
  std::string reason;
  std::int64_t blocking = -1;
  std::string blocking_fn;
};

struct trace_log::program {
  std::int64_t pid = 0;
  std::string pid_tid;  // `","pid":PID,"tid":`, the middle of every event's head
  std::string binary;
  std::int64_t last_ns = 0;
  std::unordered_map<std::uint64_t, goroutine_track> gs;
  struct call {
    std::uint64_t g;
    std::string name;
  };
  std::unordered_map<std::uint64_t, call> calls;  // request id -> its caller
  struct xref_end {
    std::uint64_t g;
    std::int64_t since;
  };
  std::unordered_map<std::uint64_t, xref_end> xcalls;  // flow id -> its caller, at most max_calls
  std::unordered_map<std::uint64_t, xref_end> xserves;  // flow id -> the goroutine serving it
  trace_summary summary;

  // The common head of an event on goroutine g's track, into out. ph is
  // one letter.
  void head(std::string& out, const char* ph, std::uint64_t g, std::string_view name, std::int64_t base_ns,
            std::int64_t t) const {
    out.clear();
    out += "{\"ph\":\"";
    out += ph[0];
    out += pid_tid;
    append_int(out, g);
    out += ",\"ts\":";
    append_micros(out, t - base_ns);
    out += ",\"name\":";
    append_json_string(out, name);
  }
};

trace_log::trace_log(const std::string& path, sink summary) : summary_(std::move(summary)), file_(path) {}

trace_log::trace_log(std::size_t max_bytes, sink summary)
    : summary_(std::move(summary)), file_(max_bytes), max_bytes_(max_bytes) {}

trace_log::~trace_log() { close(); }

void trace_log::attach(std::uint64_t client, std::int64_t pid, const std::string& binary) {
  std::lock_guard lk(mu_);
  auto p = std::make_unique<program>();
  p->pid = pid;
  p->pid_tid = "\",\"pid\":" + std::to_string(pid) + ",\"tid\":";
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
  program& p = *it->second;
  const int n = events.events_size();
  for (int i = 0; i < n; ++i) {
    if (file_.full()) {
      p.summary.over_cap(static_cast<std::uint64_t>(n - i));
      break;
    }
    const runtime::v1::TraceEvent& e = events.events(i);
    if (base_ns_ < 0) {
      base_ns_ = e.time_ns();
      // ts 0's clock time, for a merge with other processes' documents.
      line_ = "{\"ph\":\"M\",\"pid\":";
      append_int(line_, p.pid);
      line_ += ",\"name\":\"";
      line_ += trace_time_base_name;
      line_ += "\",\"args\":{\"ns\":";
      append_int(line_, base_ns_);
      line_ += "}}";
      file_.event(line_);
    }
    one(p, e);
    if (file_.full()) p.summary.over_cap(1);  // this one did not fit (all of it, or the slice it ended)
  }
  file_.flush();
}

bool trace_log::full() {
  std::lock_guard lk(mu_);
  return file_.full();
}

void trace_log::not_recorded(std::uint64_t client, std::uint64_t n) {
  std::lock_guard lk(mu_);
  auto it = programs_.find(client);
  if (it != programs_.end()) it->second->summary.over_cap(n);
}

void trace_log::one(program& p, const runtime::v1::TraceEvent& e) {
  const std::int64_t t = std::max(e.time_ns(), base_ns_);
  p.last_ns = std::max(p.last_ns, t);
  p.summary.event();
  const std::uint64_t g = e.goroutine();
  // Each event is built in line_ (one buffer, reused): a tracing weftd
  // competes with the programs it traces for CPU.
  auto with_args = [&](const arg& a) {
    if (a.view().empty()) return;
    line_ += ",\"args\":{";
    line_ += a.view();
    line_ += '}';
  };
  auto slice = [&](std::uint64_t tid, std::string_view name, std::string_view cat, std::int64_t since,
                   const arg& args = {}) {
    p.head(line_, "X", tid, name, base_ns_, since);
    line_ += ",\"cat\":\"";
    line_ += cat;
    line_ += "\",\"dur\":";
    append_micros(line_, std::max<std::int64_t>(t - since, 0));
    with_args(args);
    line_ += '}';
    file_.event(line_);
  };
  auto instant = [&](std::uint64_t tid, std::string_view name, const arg& args = {}) {
    p.head(line_, "i", tid, name, base_ns_, t);
    line_ += ",\"s\":\"t\"";
    with_args(args);
    line_ += '}';
    file_.event(line_);
  };
  auto async_edge = [&](const char* ph, std::uint64_t tid, std::string_view name, std::uint64_t id,
                        std::string_view cat = "remote", std::int64_t at = -1) {
    p.head(line_, ph, tid, name, base_ns_, at < 0 ? t : at);
    line_ += ",\"cat\":\"";
    line_ += cat;
    line_ += "\",\"id\":\"0x";
    append_int(line_, id, 16);
    line_ += "\"}";
    file_.event(line_);
  };
  // An xref call's two ends, joined by a flow (trace_log.hpp says which
  // format and why): "s" on the caller's track, "f" on the callee's.
  auto flow_edge = [&](const char* ph, std::uint64_t tid, std::uint64_t id) {
    p.head(line_, ph, tid, xref_flow_name, base_ns_, t);
    line_ += ",\"cat\":\"xref\",\"id\":\"0x";
    append_int(line_, id, 16);
    line_ += ph[0] == 'f' ? "\",\"bp\":\"e\"}" : "\"}";
    file_.event(line_);
  };
  // The end of an xref call or serve: its async slice, both edges now.
  auto xref_slice = [&](std::unordered_map<std::uint64_t, program::xref_end>& open, std::string_view name) {
    auto it = open.find(e.arg());
    if (it == open.end()) return;  // its start was before the trace, or over max_calls
    async_edge("b", it->second.g, name, e.arg(), "xref", it->second.since);
    async_edge("e", it->second.g, name, e.arg(), "xref");
    open.erase(it);
  };
  // A goroutine first seen here predates tracing (goroutine 1, say): its
  // name, if it has one, comes with its first go_start (the runtime's
  // first sight of it may be a wake-up: trace_events.hpp), so its track
  // is named then, or at its end, or when the program detaches.
  auto track = [&](std::uint64_t id) -> goroutine_track& { return p.gs.try_emplace(id).first->second; };
  auto end_running = [&](goroutine_track& gt) {
    if (gt.running >= 0) slice(g, "running", "sched", gt.running);
    gt.running = -1;
  };
  auto end_block = [&](goroutine_track& gt, const arg& args) {
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
      write_name(p, g, gt);
      instant(g, "created", e.arg() ? arg("by", e.arg()) : arg());
      break;
    }
    case wire::tk_go_start: {
      goroutine_track& gt = track(g);
      if (!gt.named) {
        gt.name = e.text().substr(0, 200);
        write_name(p, g, gt);
        // Blocks it ended before (woken first) were summed up nameless.
        if (!gt.name.empty()) p.summary.named(g, gt.name);
      }
      end_block(gt, {});  // its unblock was not seen (dropped)
      end_running(gt);
      gt.running = t;
      break;
    }
    case wire::tk_go_block: {
      goroutine_track& gt = track(g);
      end_running(gt);
      gt.blocked = t;
      if (e.text().empty()) {
        gt.reason = "blocked";
      } else {
        gt.reason.assign(e.text(), 0, 100);  // into its buffer: no string made per event
      }
      break;
    }
    case wire::tk_go_unblock: end_block(track(g), e.arg() ? arg("woken_by", e.arg()) : arg()); break;
    case wire::tk_go_yield: end_running(track(g)); break;
    case wire::tk_go_end: {
      goroutine_track& gt = track(g);
      if (!gt.named) write_name(p, g, gt);
      end_running(gt);
      instant(g, "end");
      p.summary.ended();
      p.gs.erase(g);
      break;
    }
    case wire::tk_steal: instant(g, "stolen", arg("from_p", e.arg())); break;
    case wire::tk_chan_send:
    case wire::tk_chan_recv: {
      bool send = e.kind() == wire::tk_chan_send;
      p.summary.chan_op(e.arg(), send, track(g).name);
      std::string_view what = send ? "chan send" : "chan receive";
      if (e.text().empty()) {
        instant(g, what, arg("chan", e.arg(), true));
      } else {
        instant(g, e.text().substr(0, 20) + " " + std::string(what), arg("chan", e.arg(), true));
      }
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
      async_edge("b", g, name, e.arg());
      p.calls[e.arg()] = program::call{g, std::move(name)};
      break;
    }
    case wire::tk_remote_reply: {
      auto it = p.calls.find(e.arg());
      if (it == p.calls.end()) break;
      async_edge("e", it->second.g, it->second.name, e.arg());
      p.calls.erase(it);
      break;
    }
    case wire::tk_xref_call:
    case wire::tk_xref_serve: {
      track(g);
      auto& open = e.kind() == wire::tk_xref_call ? p.xcalls : p.xserves;
      if (open.size() >= max_calls) break;
      flow_edge(e.kind() == wire::tk_xref_call ? "s" : "f", g, e.arg());
      open[e.arg()] = program::xref_end{g, t};
      break;
    }
    case wire::tk_xref_reply: xref_slice(p.xcalls, "xref call"); break;
    case wire::tk_xref_served: xref_slice(p.xserves, "xref serve"); break;
    case wire::tk_dropped:
      p.summary.dropped(e.arg());
      line_ = "{\"ph\":\"i\",\"s\":\"p\",\"pid\":";
      append_int(line_, p.pid);
      line_ += ",\"tid\":0,\"ts\":";
      append_micros(line_, t - base_ns_);
      line_ += ",\"name\":\"";
      append_int(line_, e.arg());
      line_ += " events dropped\"}";
      file_.event(line_);
      break;
    default: break;  // a later kind: skipped (docs/protocol.md)
  }
}

void trace_log::write_name(program& p, std::uint64_t g, goroutine_track& gt) {
  const std::string shown = gt.name.empty() ? "goroutine " + std::to_string(g) : gt.name;
  file_.event("{\"ph\":\"M\",\"pid\":" + std::to_string(p.pid) + ",\"tid\":" + std::to_string(g) +
              ",\"name\":\"thread_name\",\"args\":{\"name\":" + json_string(shown) + "}}");
  gt.named = true;
}

void trace_log::finish(program& p) {
  // What was open when the program left ends at its last event.
  for (auto& [key, gt] : p.gs) {
    const auto id = key;  // clang 14 cannot capture a structured binding
    if (!gt.named) write_name(p, id, gt);
    auto close_at_end = [&](std::int64_t since, std::string_view name, const char* cat) {
      p.head(line_, "X", id, name, base_ns_, since);
      line_ += ",\"cat\":\"";
      line_ += cat;
      line_ += "\",\"dur\":";
      append_micros(line_, std::max<std::int64_t>(p.last_ns - since, 0));
      line_ += '}';
      file_.event(line_);
    };
    if (gt.running >= 0) close_at_end(gt.running, "running", "sched");
    if (gt.blocking >= 0) close_at_end(gt.blocking, "blocking: " + gt.blocking_fn, "blocking");
    if (gt.blocked >= 0) {
      close_at_end(gt.blocked, gt.reason, "block");
      p.summary.block(id, gt.name, gt.reason, p.last_ns - gt.blocked, true);
    }
  }
  if (p.summary.over_cap_count() > 0) {
    // The last word, in the reserve the cap keeps for it (trace_json.hpp).
    line_ = "{\"ph\":\"i\",\"s\":\"g\",\"pid\":";
    append_int(line_, p.pid);
    line_ += ",\"tid\":0,\"ts\":";
    append_micros(line_, p.last_ns - base_ns_);
    line_ += ",\"name\":\"";
    append_int(line_, p.summary.over_cap_count());
    line_ += " events dropped: the trace reached its cap of ";
    line_ += size_text(max_bytes_);
    line_ += "\"}";
    file_.event(line_, true);
  }
  file_.flush();
  if (summary_) {
    std::string table = p.summary.table(base_name(p.binary) + " (pid " + std::to_string(p.pid) + ")");
    if (!file_.path().empty()) table += "  trace in " + file_.path() + " (open it in ui.perfetto.dev)\n";
    summary_(table);
  }
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

std::string trace_log::take() {
  std::lock_guard lk(mu_);
  return file_.take();
}

}  // namespace weft::wire
