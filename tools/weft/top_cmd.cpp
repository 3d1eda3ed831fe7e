// tools/weft/top_cmd.cpp: `weft top [SELECTOR...]` (top_cmd.hpp).
//
// Loop: sample every target (Control GOROUTINE_STATS, then STATS: one
// request each, in turn, over the connections targets.hpp names), wait
// --interval, sample again, show the rows of the two latest samples
// (top_sample.hpp), and again until Ctrl-C; --once stops after the first
// screen. Selectors as the other control commands; none selects every
// process attached to the weftd (Control LIST), workers included: what an
// operator typing `weft top` on a host wants to see. The targets are
// chosen once, at the start: a worker that joins later needs a new top.
//
// Instrumentation. The first GOROUTINE_STATS starts each target's
// per-goroutine instrumentation (docs/protocol.md). top stops it
// (INSTRUMENT_OFF) for every target when it ends, however it ends: a
// snapshot printed, SIGINT or SIGTERM, a failure. So nobody pays for it
// after top. (The stub also stops it a minute after the last ask, which
// covers a top that was SIGKILLed.) Another tool asking meanwhile sees its
// counters restart; top shows "-" for the rates of that refresh.
//
// Signals: SIGINT and SIGTERM are blocked before weft::run and taken by a
// goroutine in sigwait (as weft ls --watch: circuit_cmd.hpp), which sets
// the stop request and wakes the loop's wait; a request in flight ends
// normally (each has a timeout), then the loop turns instrumentation off
// and returns.
//
// Output: on a terminal the screen is cleared and redrawn in place (ANSI
// clear and home); the first screen is "sampling..." until the second
// sample. There keys change the order at once (c cpu, m mem, g goroutines,
// r runnable, b blocked, o channel operations, y bytes, n name) and q
// quits: stdin is put in non-canonical mode for it and restored at the
// end (a SIGKILLed top leaves it so: `reset` mends it). Not on a terminal (or --once) each refresh prints as plain
// text, with --json as one object per line. Failures of a target show in its row (and in the exit status with --once);
// losing the weftd ends top (status 1).
#include "top_cmd.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

#include <weft/blocking.hpp>
#include <weft/condition_variable.hpp>
#include <weft/go.hpp>
#include <weft/mutex.hpp>
#include <weft/wait_group.hpp>

#include "circuit_cmd.hpp"
#include "control_cmd.hpp"
#include "progress.hpp"
#include "top_sample.hpp"
#include "wire/json.hpp"

namespace weft::tool {

namespace {

// How many goroutines the per-goroutine view asks each sample to list,
// busiest (by all their time running) first.
constexpr int goroutines_listed = 1000;

// The stop request (a signal) and the loop's wait for it.
struct stopper {
  weft::mutex mu;
  weft::condition_variable cv;
  bool stop = false;

  void request() {
    {
      std::unique_lock<weft::mutex> lk(mu);
      stop = true;
    }
    cv.notify_all();
  }
  // Waits d, or less if a stop is asked; whether one was.
  bool wait(std::chrono::nanoseconds d) {
    std::unique_lock<weft::mutex> lk(mu);
    return cv.wait_for(lk, d, [this] { return stop; });
  }
  bool asked() {
    std::unique_lock<weft::mutex> lk(mu);
    return stop;
  }
};

// Sends Controls to targets: to the dialled weftd, or to another host's
// for a worker attached there (targets.hpp), over one connection each.
class asker {
 public:
  explicit asker(runtime_client& rc) : rc_(rc) {}

  // The reply's text, or false with why in *text. Throws tool_error when
  // the dialled weftd is lost: nothing can go on then.
  bool ask(const target& t, v1::Control::Action action, int code, std::string* text) {
    wire::frame req;
    v1::Control* c = req.mutable_control();
    c->set_action(action);
    address_control(c, t);
    c->set_code(code);
    wire::frame r;
    try {
      runtime_client* to = &rc_;
      if (!t.runtime.empty()) {
        auto it = others_.find(t.runtime);
        if (it == others_.end()) it = others_.emplace(t.runtime, runtime_client::connect(t.runtime, {"control"})).first;
        to = &it->second;
      }
      r = to->call(req);
    } catch (const tool_error& e) {
      if (t.runtime.empty()) throw;
      *text = e.what();
      return false;
    }
    if (r.has_control_reply()) {
      *text = r.control_reply().text();
      return true;
    }
    *text = r.has_error() ? r.error().message() : "weftd answered with something else";
    return false;
  }

 private:
  runtime_client& rc_;
  std::map<std::string, runtime_client> others_;
};

top_sample sample_of(asker& ask, const target& t, int listed) {
  top_sample s;
  std::string g, st;
  if (!ask.ask(t, v1::Control::GOROUTINE_STATS, listed, &g)) {
    s.error = g;
    return s;
  }
  if (!ask.ask(t, v1::Control::STATS, 0, &st)) {
    s.error = st;
    return s;
  }
  auto gj = parse_json(g);
  auto sj = parse_json(st);
  if (!gj || !sj) {
    s.error = "its answer is not the JSON weft top reads (a stub of another version?)";
    return s;
  }
  s.ok = true;
  s.gstats = std::move(*gj);
  s.stats = std::move(*sj);
  return s;
}

// Every process attached to the weftd (no selectors).
std::vector<target> attached_targets(runtime_client& rc) {
  wire::frame req;
  req.mutable_control()->set_action(v1::Control::LIST);
  wire::frame r = rc.call(req);
  if (!r.has_control_reply())
    throw tool_error("weftd at " + rc.address() + ": " +
                     (r.has_error() ? r.error().message() : std::string("answered LIST with something else")));
  std::vector<target> out;
  for (const v1::ProcessEntry& e : r.control_reply().processes()) {
    target t;
    t.pid = e.process().pid();
    t.process_id = e.process_id();
    t.worker_id = e.worker_id();
    t.label = t.worker_id.empty() ? "pid:" + std::to_string(t.pid) : t.worker_id;
    out.push_back(std::move(t));
  }
  return out;
}

std::string bytes_text(double b) {
  const char* units[] = {"B", "K", "M", "G", "T"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.1f%s", b, units[u]);
  return buf;
}

std::string rate_text(bool known, double v) {
  if (!known) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 || v == 0 ? "%.0f" : "%.1f", v);
  return buf;
}

std::string blocked_text(const process_row& r) {
  if (!r.rates) return "-";
  std::string out;
  for (std::size_t i = 0; i < r.blocked_by.size() && i < 3; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.1f", r.blocked_by[i].goroutines);
    out += (i ? ", " : "") + r.blocked_by[i].reason + buf;
  }
  return out;
}

std::string clock_text() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string processes_text(std::vector<process_row> rows, const top_args& a) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %8s %7s %8s %10s %8s %7s %9s %9s  %s\n", "TARGET", "PID", "CPU%", "RSS",
                "GOROUTINES", "RUNNABLE", "BLOCKED", "CHAN/s", "BYTES/s", "BLOCKED ON");
  out += line;
  for (const process_row& r : rows) {
    if (!r.error.empty()) {
      std::snprintf(line, sizeof line, "%-28s %8lld  %s\n", r.t.label.c_str(), static_cast<long long>(r.t.pid),
                    r.error.c_str());
    } else {
      std::snprintf(line, sizeof line, "%-28s %8lld %7.1f %8s %10ld %8ld %7ld %9s %9s  %s\n", r.t.label.c_str(),
                    static_cast<long long>(r.t.pid), r.cpu_pct, bytes_text(r.rss_bytes).c_str(), r.goroutines,
                    r.runnable, r.blocked, rate_text(r.rates, r.chan_ops_per_s).c_str(),
                    rate_text(r.rates, r.bytes_per_s).c_str(), blocked_text(r).c_str());
    }
    out += line;
  }
  (void)a;
  return out;
}

std::string goroutines_text(const std::vector<goroutine_row>& rows, const target& t, std::size_t total) {
  std::string out;
  char line[1024];
  std::snprintf(line, sizeof line, "%s (pid %lld): %zu goroutines seen, the %zu busiest\n", t.label.c_str(),
                static_cast<long long>(t.pid), total, rows.size());
  out += line;
  std::snprintf(line, sizeof line, "%-8s %-28s %-16s %7s %9s %9s  %s\n", "ID", "NAME", "STATE", "CPU%", "CHAN/s",
                "BYTES/s", "CREATED BY");
  out += line;
  for (const goroutine_row& r : rows) {
    std::string created = r.created_by;
    if (!r.created_at.empty()) {
      std::string file = r.created_at.substr(r.created_at.rfind('/') + 1);
      created += " (" + file + ")";
    }
    std::snprintf(line, sizeof line, "%-8llu %-28.28s %-16.16s %7s %9s %9s  %.200s\n",
                  static_cast<unsigned long long>(r.id), r.name.c_str(),
                  (r.state == "blocked" && !r.reason.empty() ? r.reason : r.state).c_str(),
                  rate_text(r.rates, r.cpu_pct).c_str(), rate_text(r.rates, r.chan_ops_per_s).c_str(),
                  rate_text(r.rates, r.bytes_per_s).c_str(), created.c_str());
    out += line;
  }
  return out;
}

// One refresh's output from the two latest samples of each target.
std::string screen(const top_args& a, const std::vector<target>& targets, const std::vector<top_sample>& before,
                   const std::vector<top_sample>& now, double interval_s) {
  char head[96];
  std::snprintf(head, sizeof head, "{\"interval_s\":%.3f,\"sort\":", interval_s);
  if (a.goroutines) {
    const target& t = targets.front();
    if (!now.front().ok) return "";  // the caller prints the error
    std::vector<goroutine_row> rows = goroutine_rows(before.front(), now.front());
    const std::size_t seen = rows.size();
    sort_rows(rows, a.sort);
    rows.resize(std::min<std::size_t>(rows.size(), a.rows > 0 ? static_cast<std::size_t>(a.rows) : 20));
    if (!a.json) return goroutines_text(rows, t, seen);
    std::string j = head + wire::json_string(a.sort) + ",\"target\":" + wire::json_string(t.label) +
                    ",\"pid\":" + std::to_string(t.pid) + ",\"worker\":" + wire::json_string(t.worker_id) +
                    ",\"anchor\":" + wire::json_string(t.path) + ",\"goroutines\":[";
    for (std::size_t i = 0; i < rows.size(); ++i) j += (i ? "," : "") + row_json(rows[i]);
    return j + "]}\n";
  }
  std::vector<process_row> rows;
  for (std::size_t i = 0; i < targets.size(); ++i) rows.push_back(process_row_of(targets[i], before[i], now[i]));
  sort_rows(rows, a.sort);
  if (a.rows > 0 && rows.size() > static_cast<std::size_t>(a.rows)) rows.resize(static_cast<std::size_t>(a.rows));
  if (!a.json) return processes_text(std::move(rows), a);
  std::string j = head + wire::json_string(a.sort) + ",\"processes\":[";
  for (std::size_t i = 0; i < rows.size(); ++i) j += (i ? "," : "") + row_json(rows[i]);
  return j + "]}\n";
}

// Keys, on a terminal: stdin in non-canonical mode without echo while top
// runs (restored at the end), read without blocking between refreshes.
class key_reader {
 public:
  explicit key_reader(bool want) {
    if (!want || ::isatty(STDIN_FILENO) != 1 || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;  // read returns at once, with nothing if no key came
    raw.c_cc[VTIME] = 0;
    on_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~key_reader() {
    if (on_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  key_reader(const key_reader&) = delete;
  key_reader& operator=(const key_reader&) = delete;
  bool on() const { return on_; }
  // The next key typed, or -1.
  int next() {
    char c = 0;
    return on_ && ::read(STDIN_FILENO, &c, 1) == 1 ? static_cast<unsigned char>(c) : -1;
  }

 private:
  termios saved_{};
  bool on_ = false;
};

// The sort key a key selects, or null.
const char* sort_for_key(int c) {
  switch (c) {
    case 'c': return "cpu";
    case 'm': return "mem";
    case 'g': return "goroutines";
    case 'r': return "runnable";
    case 'b': return "blocked";
    case 'o': return "chan";
    case 'y': return "bytes";
    case 'n': return "name";
    default: return nullptr;
  }
}

int top_loop(const top_args& a, runtime_client& rc, const std::vector<target>& targets, stopper& stop) {
  asker ask(rc);
  top_args view = a;  // its sort changes with the keys
  const bool tty = !a.once && !a.json && ::isatty(STDOUT_FILENO) == 1;
  key_reader keys(tty);
  const int listed = a.goroutines ? goroutines_listed : 1;
  const auto interval = std::chrono::nanoseconds(std::llround(a.interval * 1e9));
  std::optional<progress_line> progress;
  if (a.once) progress.emplace("top");
  auto take = [&](int round) {
    std::vector<top_sample> out;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (progress)
        progress->update("sample " + std::to_string(round) + ": " + std::to_string(i) + "/" +
                         std::to_string(targets.size()) + " targets answered");
      out.push_back(sample_of(ask, targets[i], listed));
    }
    return out;
  };
  std::vector<top_sample> before, now;
  bool shown = false;
  auto show = [&] {
    std::string out = screen(view, targets, before, now, a.interval);
    if (tty) {
      std::printf("\033[H\033[2Jweft top: %zu target(s), every %g s, sorted by %s, %s (%sCtrl-C quits)\n%s",
                  targets.size(), a.interval, view.sort.c_str(), clock_text().c_str(),
                  keys.on() ? "keys c m g r b o y n sort, q or " : "", out.c_str());
    } else if (!a.json && !a.once) {
      std::printf("== %s ==\n%s\n", clock_text().c_str(), out.c_str());
    } else {
      std::fputs(out.c_str(), stdout);
    }
    std::fflush(stdout);
    shown = true;
  };
  // Waits one interval; whether to stop (a signal, or q). On a terminal
  // it looks for keys every 100 ms and redraws at once in the new order.
  auto pause = [&]() -> bool {
    const auto end = std::chrono::steady_clock::now() + interval;
    for (;;) {
      const auto left = end - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds(0)) return false;
      if (stop.wait(keys.on() ? std::min<std::chrono::nanoseconds>(left, std::chrono::milliseconds(100)) : left))
        return true;
      for (int c = keys.next(); c >= 0; c = keys.next()) {
        if (c == 'q') return true;
        if (const char* key = sort_for_key(c); key != nullptr && shown) {
          view.sort = key;
          show();
        }
      }
    }
  };
  if (tty) {
    std::printf("\033[H\033[2Jweft top: sampling... (the first screen in %g s; Ctrl-C quits)\n", a.interval);
    std::fflush(stdout);
  }
  now = take(1);
  for (;;) {
    if (progress) {
      char wait[64];
      std::snprintf(wait, sizeof wait, "waiting %g s for the second sample", a.interval);
      progress->update(wait);
    }
    if (pause()) return a.once ? 1 : 0;
    before = std::move(now);
    now = take(2);
    int status = 0;
    for (const top_sample& s : now) status = s.ok ? status : 1;
    if (progress) progress.reset();  // erased before anything is printed
    if (a.goroutines && !now.front().ok) {
      std::fprintf(stderr, "weft top: %s: %s\n", targets.front().label.c_str(), now.front().error.c_str());
      if (a.once) return 1;
    }
    show();
    if (a.once) return status;
  }
}

}  // namespace

int run_top(const top_args& a) {
  if (!check_selectors("top", a.selectors)) return 2;
  block_watch_signals();  // SIGINT, SIGTERM (and SIGUSR2, to end the signal goroutine) for sigwait
  return run_tool("top", a.runtime, [&](const std::string& address) {
    runtime_client rc = runtime_client::connect(
        address, a.selectors.empty() ? std::vector<std::string>{"control"} : capabilities_for(a.selectors));
    int status = 0;
    const std::vector<target> targets =
        a.selectors.empty() ? attached_targets(rc) : resolve_targets("top", rc, a.selectors, &status);
    if (a.goroutines && targets.size() > 1) {
      std::fprintf(stderr,
                   "weft top: --goroutines shows one process, and the selectors name %zu; select one (a pid:N or a "
                   "worker id)\n",
                   targets.size());
      return 2;
    }
    if (targets.empty()) {
      if (status == 0)
        std::fprintf(stderr, "weft top: no process is attached to the weftd at %s (weft ps lists them)\n",
                     address.c_str());
      return a.selectors.empty() ? 0 : 1;
    }
    stopper stop;
    weft::wait_group signaller;
    signaller.add(1);
    weft::go(weft::go_options{.name = "weft top signals"}, [&stop, &signaller] {
      const int sig = weft::blocking([] {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGINT);
        sigaddset(&s, SIGTERM);
        sigaddset(&s, SIGUSR2);
        int got = 0;
        while (sigwait(&s, &got) != 0) {}
        return got;
      });
      if (sig != SIGUSR2) stop.request();
      signaller.done();
    });
    // However the loop ends: instrumentation off for every target (best
    // effort: one that is gone has none), then the signal goroutine ended.
    struct at_end {
      runtime_client& rc;
      const std::vector<target>& targets;
      weft::wait_group& signaller;
      ~at_end() {
        asker ask(rc);
        for (const target& t : targets) {
          std::string ignored;
          try {
            ask.ask(t, v1::Control::INSTRUMENT_OFF, 0, &ignored);
          } catch (const tool_error&) {
            break;  // the weftd is gone: so is every way to reach them
          }
        }
        ::kill(::getpid(), SIGUSR2);  // blocked everywhere: it goes to the sigwait (or stays pending)
        signaller.wait();
      }
    } end{rc, targets, signaller};
    const int loop = top_loop(a, rc, targets, stop);
    return std::max(status, loop);
  });
}

}  // namespace weft::tool
