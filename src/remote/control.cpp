// src/remote/control.cpp: the stub's answers to the server's Control
// requests (docs/protocol.md, "Control"; design in stub.hpp).
//
//   DUMP_GOROUTINES  ControlReply.text: weft::dump_goroutines's text; one
//                    over the frame limit (100,000 goroutines are ~56 MB)
//                    goes grouped by stack, with a first line saying so,
//                    and cut if even that does not fit (trace/dump_group.hpp).
//   STATS            ControlReply.text: one JSON object of counters the
//                    runtime keeps anyway (nothing is added to a hot path):
//                    pid, process_id, uptime_s, attached_s, procs,
//                    goroutines, threads (Ms), os_threads, rss_bytes, cpu_s
//                    (user + system CPU time), tracing, instrumenting
//                    (whether GOROUTINE_STATS's instrumentation is on);
//                    ControlReply.peers: bytes exchanged with each peer
//                    process over circuit peer links (wire/peer_traffic.hpp).
//   GOROUTINE_STATS  ControlReply.text: per-goroutine instrumentation as
//                    JSON (goroutine_stats_json); ControlReply.migratable:
//                    every migratable goroutine's counters, by its server
//                    id (migratable_stats.cpp); starts instrumentation
//                    (runtime/gstats.hpp) if it is off. The heartbeat stops
//                    it again when nobody has asked for a minute, so a tool
//                    that went away leaves nothing running.
//   INSTRUMENT_OFF   stops it now; text says whether it was on.
//   CPU_PROFILE      ControlReply.data: a CPU profile of duration_ms (1 ms
//                    to 10 min, else Error REFUSED), pprof's profile.proto
//                    gzip-compressed (trace/cpu_profile.hpp, trace/pprof.hpp).
//                    One at a time: a second gets Error REFUSED "a CPU
//                    profile is already running"; a profile over the frame
//                    limit gets Error TOO_LARGE (a gzip profile is far
//                    smaller: tens of KiB for thousands of distinct stacks).
//   TRACE            ControlReply.data: the runtime's events over
//                    duration_ms as a Chrome/Perfetto trace; text: its
//                    summary table (trace_request.hpp).
//   EXIT(code)       ControlReply.text says what happens; then the stub says
//                    Goodbye, lets both reach the server (1 s at most),
//                    flushes stdio and the standard streams, and ends the
//                    process with status code. Like Go's os.Exit, no
//                    destructors or atexit handlers run: the program's other
//                    goroutines are still running on other threads, and
//                    static destructors under them would crash it.
// Any other action gets Error REFUSED. Each answer runs in its own
// goroutine, never on the reader (stub.hpp).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <weft/dump.hpp>
#include <weft/go.hpp>
#include <weft/run.hpp>

#include "platform/futex.hpp"
#include "platform/process.hpp"
#include "remote/migration.hpp"
#include "remote/stub.hpp"
#include "runtime/runtime.hpp"
#include "trace/cpu_profile.hpp"
#include "trace/dump_internal.hpp"
#include "trace/dump_group.hpp"
#include "trace/pprof.hpp"
#include "wire/frame.hpp"
#include "wire/peer_traffic.hpp"
#include "wire/utf8.hpp"

namespace weft::remote::detail {

namespace {

// Field n (1-based) of /proc/self/stat, after the command name (which may
// hold spaces: it is in parentheses). 0 if unreadable.
std::uint64_t stat_field(int n) {
  std::ifstream in("/proc/self/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));  // field 3 on
  std::string v;
  for (int i = 3; i <= n && rest >> v; ++i) {
    if (i == n) return std::strtoull(v.c_str(), nullptr, 10);
  }
  return 0;
}

// Seconds since this process started (/proc/uptime - its starttime).
double process_uptime() {
  std::ifstream in("/proc/uptime");
  double up = 0;
  if (!(in >> up)) return 0;
  const long hz = ::sysconf(_SC_CLK_TCK);
  const double start = hz > 0 ? static_cast<double>(stat_field(22)) / static_cast<double>(hz) : 0;
  return up > start ? up - start : 0;
}

std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// User and system CPU time this process used (/proc/self/stat fields 14
// and 15, in clock ticks): weft top's CPU % is its change over a refresh.
double cpu_seconds() {
  const long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) return 0;
  return static_cast<double>(stat_field(14) + stat_field(15)) / static_cast<double>(hz);
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

constexpr std::int64_t cpu_profile_max_ms = 10 * 60 * 1000;

// Answers CPU_PROFILE into r: ControlReply.data, or an Error.
void cpu_profile(v1::Frame& r, std::int64_t duration_ms) {
  auto refuse = [&r](v1::Error::Code code, const std::string& why) {
    v1::Error* e = r.mutable_error();
    e->set_code(code);
    e->set_message(weft::wire::utf8_text(why));
  };
  if (duration_ms < 1 || duration_ms > cpu_profile_max_ms) {
    refuse(v1::Error::REFUSED, "CPU_PROFILE duration_ms is " + std::to_string(duration_ms) +
                                   "; ask for 1 ms to 10 min (1 to " + std::to_string(cpu_profile_max_ms) + ")");
    return;
  }
  std::string gz;
  try {
    gz = weft::detail::trace::gzip_bytes(weft::detail::trace::encode_pprof(
        weft::detail::trace::record_cpu_profile(std::chrono::milliseconds(duration_ms))));
  } catch (const weft::detail::trace::cpu_profile_error& e) {
    refuse(v1::Error::REFUSED, e.what());
    return;
  } catch (const std::exception& e) {
    refuse(v1::Error::INTERNAL, std::string("CPU profile failed: ") + e.what());
    return;
  }
  // Room for the frame's other fields: the id, the field tags and lengths.
  constexpr std::size_t limit = weft::wire::default_max_frame - 1024;
  if (gz.size() > limit) {
    refuse(v1::Error::TOO_LARGE, "the CPU profile is " + std::to_string(gz.size()) +
                                     " bytes gzip-compressed, over the protocol's 16 MiB frame limit; profile for "
                                     "a shorter time");
    return;
  }
  r.mutable_control_reply()->set_data(std::move(gz));
}

}  // namespace

std::string stub::stats_json() const {
  int ms = 0;
  {
    weft::detail::lock_scope lk(weft::detail::sched.lock);
    ms = weft::detail::sched.mcount;
  }
  const double attached = static_cast<double>(weft::detail::os::nanotime() - attached_ns_) / 1e9;
  std::string j = "{";
  j += "\"pid\":" + std::to_string(::getpid());
  j += ",\"process_id\":" + std::to_string(process_id_);
  j += ",\"uptime_s\":" + seconds(process_uptime());
  j += ",\"attached_s\":" + seconds(attached);
  j += ",\"procs\":" + std::to_string(weft::detail::sched.procs);
  j += ",\"goroutines\":" + std::to_string(weft::num_goroutines());
  j += ",\"threads\":" + std::to_string(ms);
  j += ",\"os_threads\":" + std::to_string(stat_field(20));
  j += ",\"rss_bytes\":" + std::to_string(rss_bytes());
  j += ",\"cpu_s\":" + seconds(cpu_seconds());
  j += std::string(",\"instrumenting\":") + (weft::detail::gstats_enabled() ? "true" : "false");
  j += std::string(",\"tracing\":") + (trace_ || trace_requested_.load() ? "true" : "false");
  j += "}";
  return j;
}

void stub::goroutine_stats(std::size_t limit, v1::ControlReply& out) {
  last_stats_ask_.store(weft::detail::os::nanotime(), std::memory_order_relaxed);
  const bool started = !weft::detail::gstats_enabled();
  if (started) weft::detail::gstats_start_all();
  const weft::detail::gstats_snapshot snap = weft::detail::gstats_take();
  out.set_text(goroutine_stats_json(snap, started, limit));
  add_migratable_stats(out, snap);
}

void stub::answer_control(std::uint64_t id, const v1::Control& c) {
  const v1::Control::Action action = c.action();
  const int code = c.code();
  const std::int64_t duration_ms = c.duration_ms();
  weft::go(weft::go_options{.name = "weft: runtime stub control"}, [this, id, action, code, duration_ms] {
    v1::Frame r;
    r.set_id(id);
    switch (action) {
      case v1::Control::DUMP_GOROUTINES: {
        // Room for the frame's other fields: the id, the field tags and lengths.
        constexpr std::size_t limit = weft::wire::default_max_frame - 1024;
        // The dump has goroutines' names: UTF-8 or not, as their programs gave them.
        r.mutable_control_reply()->set_text(
            weft::wire::utf8_text(weft::detail::trace::fit_dump(weft::detail::dump_goroutines_text(), limit)));
        break;
      }
      case v1::Control::STATS: {
        r.mutable_control_reply()->set_text(stats_json());
        for (const weft::wire::peer_bytes& p : weft::wire::peer_traffic()) {
          v1::PeerTraffic* t = r.mutable_control_reply()->add_peers();
          t->set_pid(p.pid);
          t->set_host(p.host);
          t->set_bytes_out(p.out);
          t->set_bytes_in(p.in);
        }
        break;
      }
      case v1::Control::GOROUTINE_STATS:
        goroutine_stats(code > 0 ? static_cast<std::size_t>(code) : 100, *r.mutable_control_reply());
        break;
      case v1::Control::INSTRUMENT_OFF: {
        bool was = weft::detail::gstats_enabled();
        weft::detail::gstats_stop_all();
        r.mutable_control_reply()->set_text(was ? "instrumentation stopped" : "instrumentation was off");
        break;
      }
      case v1::Control::CPU_PROFILE: cpu_profile(r, duration_ms); break;
      case v1::Control::TRACE: answer_trace(r, duration_ms); break;
      case v1::Control::EXIT: {
        const std::string what = "pid " + std::to_string(::getpid()) + " exits with status " + std::to_string(code) +
                                 " (stdio flushed; no destructors or atexit handlers run, as Go's os.Exit)";
        r.mutable_control_reply()->set_text(what);
        try {
          link_->send(r);
        } catch (...) {}
        detach("Control EXIT: exit status " + std::to_string(code));  // waits for the reply to be written
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        weft::detail::os::exit_now(code);
      }
      default: {
        v1::Error* e = r.mutable_error();
        e->set_code(v1::Error::REFUSED);
        e->set_message("this stub does not know Control action " + std::to_string(action));
        break;
      }
    }
    try {
      link_->send(r);
    } catch (...) {}  // the connection is gone: the server answers the tool
  });
}

}  // namespace weft::remote::detail
