// tools/weft/ui_cmd.cpp: `weft ui [--port N] [--runtime ADDR]`: one page on
// http://127.0.0.1:PORT/ that shows the circuit live: the anchor tree with
// its workers, the selected worker's vitals (Control STATS) and goroutine
// table (GOROUTINE_STATS), its stacks (DUMP_GOROUTINES), a kill button
// (WorkerKill, after the page asks to confirm) and a 5 s trace (TRACE) the
// page offers as a file for ui.perfetto.dev.
//
// The page (ui/index.html, compiled in: ui_page.hpp is generated from it)
// polls the JSON endpoints every 2 s:
//   GET  /api/workers                     anchors and workers (AnchorList)
//   GET  /api/vitals?target=ID            Control STATS's JSON
//   GET  /api/goroutines?target=ID        Control GOROUTINE_STATS's JSON
//   GET  /api/stack?target=ID             the goroutine dump, text
//   POST /api/kill?target=ID              WorkerKill, then its end (WorkerWait)
//   POST /api/trace?target=ID&seconds=S   Control TRACE's document
// every one with &token=... (ui_http.hpp: the checks on each request).
//
// Each request dials the weftd afresh: a runtime_client is one
// conversation (call() reads until its own reply), and requests come at
// once from several goroutines; a local handshake costs well under a
// millisecond beside a 2 s refresh.
//
// Instrumentation: GOROUTINE_STATS turns a worker's per-goroutine counters
// on, and they cost it on every scheduler transition. weft ui remembers
// when it last asked each worker, and a goroutine turns off
// (INSTRUMENT_OFF) those the page has not asked for 10 s (the page was
// closed, or shows another worker), and all of them when weft ui ends.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>

#include <weft/blocking.hpp>
#include <weft/chan.hpp>
#include <weft/select.hpp>
#include <weft/timer.hpp>
#include <weft/go.hpp>
#include <weft/mutex.hpp>
#include <weft/net.hpp>
#include <weft/wait_group.hpp>

#include "circuit_cmd.hpp"
#include "ui_cmd.hpp"
#include "ui_http.hpp"
#include "ui_page.hpp"
#include "wire/json.hpp"
#include "wire/worker_id.hpp"

namespace weft::tool {

namespace {

constexpr auto instrument_idle = std::chrono::seconds(10);

std::string random_token() {
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  unsigned char bytes[16] = {};
  rnd.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  if (!rnd) throw tool_error("could not read /dev/urandom for the URL's token");
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

sigset_t ui_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

// Which workers weft ui has instrumented, and when the page last asked.
class instrumented {
 public:
  void asked(const target& t) {
    std::lock_guard<weft::mutex> l(mu_);
    last_[t.worker_id] = {t, std::chrono::steady_clock::now()};
  }
  // Those not asked for since `before`, forgotten.
  std::vector<target> take_idle(std::chrono::steady_clock::time_point before) {
    std::lock_guard<weft::mutex> l(mu_);
    std::vector<target> out;
    for (auto it = last_.begin(); it != last_.end();) {
      if (it->second.second < before) {
        out.push_back(it->second.first);
        it = last_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

 private:
  weft::mutex mu_;
  std::map<std::string, std::pair<target, std::chrono::steady_clock::time_point>> last_;  // by worker id
};

class ui_server {
 public:
  explicit ui_server(std::string address) : address_(std::move(address)) {}

  std::map<std::string, http::route_entry> routes() {
    std::map<std::string, http::route_entry> r;
    r["/"] = {"GET", [](const http::request&) {
                return http::response{200, "text/html; charset=utf-8", std::string(ui_page_html), {}};
              }};
    r["/api/workers"] = {"GET", [this](const http::request&) { return workers(); }};
    r["/api/vitals"] = {"GET", [this](const http::request& q) {
                          return control(q, v1::Control::STATS, 0, [](const target&, const v1::ControlReply& c) {
                            return http::response{200, "application/json", c.text(), {}};
                          });
                        }};
    r["/api/goroutines"] = {"GET", [this](const http::request& q) {
                              return control(q, v1::Control::GOROUTINE_STATS, 0,
                                             [this](const target& t, const v1::ControlReply& c) {
                                               instrumented_.asked(t);
                                               return http::response{200, "application/json", c.text(), {}};
                                             });
                            }};
    r["/api/stack"] = {"GET", [this](const http::request& q) {
                         return control(q, v1::Control::DUMP_GOROUTINES, 0,
                                        [](const target&, const v1::ControlReply& c) {
                                          return http::response{200, "text/plain; charset=utf-8", c.text(), {}};
                                        });
                       }};
    r["/api/kill"] = {"POST", [this](const http::request& q) { return kill(q); }};
    r["/api/trace"] = {"POST", [this](const http::request& q) { return trace(q); }};
    return r;
  }

  // Turns off the instrumentation of workers the page stopped asking
  // about (all, with `all`).
  void instrument_off(bool all) {
    auto before =
        all ? std::chrono::steady_clock::time_point::max() : std::chrono::steady_clock::now() - instrument_idle;
    for (const target& t : instrumented_.take_idle(before)) {
      try {
        runtime_client rc = runtime_client::connect(t.runtime.empty() ? address_ : t.runtime, {"control"});
        wire::frame req;
        req.mutable_control()->set_action(v1::Control::INSTRUMENT_OFF);
        address_control(req.mutable_control(), t);
        rc.call(req, std::chrono::seconds(5));
      } catch (const tool_error&) {}  // gone: its instrumentation went with it
    }
  }

 private:
  http::response workers() try {
    runtime_client rc = runtime_client::connect(address_, {"circuit"});
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    std::string out = "{\"runtime\":" + wire::json_string(address_) + ",\"workers\":[";
    bool first = true;
    for (const v1::AnchorEntry& e : list_anchors(rc, {})) {
      out += first ? "\n {" : ",\n {";
      first = false;
      out += entry_json_fields(e);
      out += ",\"uptime_s\":" + std::to_string(std::max<std::int64_t>(0, (now - e.started_unix_ms()) / 1000)) + "}";
    }
    return {200, "application/json", out + "]}\n", {}};
  } catch (const tool_error& e) {
    return http::error(502, e.what());
  }

  // The worker named by ?target=: a 400 or 404 response when there is none.
  std::optional<http::response> find(runtime_client& rc, const http::request& q, target* t) {
    auto it = q.query.find("target");
    if (it == q.query.end() || !wire::is_worker_id(it->second))
      return http::error(400, "name a worker: ?target=R<16 hex digits> (its id, as /api/workers gives it)");
    int status = 0;
    std::vector<target> found = resolve_targets("ui", rc, {it->second}, &status);
    if (found.empty())
      return http::error(404, "worker " + it->second + " is not attached to a weftd weft ui reaches: it has ended");
    *t = found.front();
    return std::nullopt;
  }

  http::response control(const http::request& q, v1::Control::Action action, std::int64_t duration_ms,
                         const std::function<http::response(const target&, const v1::ControlReply&)>& answer) {
    try {
      runtime_client rc = runtime_client::connect(address_, {"control", "circuit"});
      target t;
      if (std::optional<http::response> no = find(rc, q, &t)) return *no;
      wire::frame req;
      v1::Control* c = req.mutable_control();
      c->set_action(action);
      address_control(c, t);
      c->set_duration_ms(duration_ms);
      std::optional<runtime_client> other;
      if (!t.runtime.empty()) other.emplace(runtime_client::connect(t.runtime, {"control"}));
      wire::frame r =
          (other ? *other : rc).call(req, std::chrono::seconds(10) + std::chrono::milliseconds(duration_ms));
      if (!r.has_control_reply())
        return http::error(502, r.has_error() ? r.error().message() : "weftd answered with something else");
      return answer(t, r.control_reply());
    } catch (const tool_error& e) {
      return http::error(502, e.what());
    }
  }

  http::response kill(const http::request& q) {
    auto it = q.query.find("target");
    if (it == q.query.end() || !wire::is_worker_id(it->second))
      return http::error(400, "name a worker: ?target=R<16 hex digits>");
    try {
      runtime_client rc = runtime_client::connect(address_, {"circuit"});
      wire::frame req;
      req.mutable_worker_kill()->set_worker_id(it->second);
      wire::frame r = rc.call(req);
      if (r.has_error()) return http::error(502, r.error().message());
      wire::frame wait;
      wait.mutable_worker_wait()->set_worker_id(it->second);
      r = rc.call(wait, std::chrono::seconds(15));
      if (!r.has_worker_exit())
        return http::error(502, r.has_error() ? r.error().message() : "weftd answered with something else");
      return {200,
              "application/json",
              "{\"worker\":" + wire::json_string(it->second) +
                  ",\"ended\":" + wire::json_string(r.worker_exit().text()) + "}\n",
              {}};
    } catch (const tool_error& e) {
      return http::error(502, e.what());
    }
  }

  http::response trace(const http::request& q) {
    double seconds = 5;
    auto s = q.query.find("seconds");
    if (s != q.query.end()) {
      char* end = nullptr;
      seconds = std::strtod(s->second.c_str(), &end);
      if (s->second.empty() || *end != '\0' || !(seconds >= 0.001 && seconds <= 60))
        return http::error(400, "seconds must be a number from 0.001 to 60");
    }
    return control(q, v1::Control::TRACE, static_cast<std::int64_t>(seconds * 1000),
                   [](const target& t, const v1::ControlReply& c) {
                     http::response r{200, "application/json", c.data(), {}};
                     r.headers.push_back({"Content-Disposition",
                                          "attachment; filename=\"weft-trace-" + std::to_string(t.pid) + ".json\""});
                     return r;
                   });
  }

  std::string address_;
  instrumented instrumented_;
};

}  // namespace

int run_ui(const ui_args& a) {
  if (a.port < 0 || a.port > 65535) {
    std::fprintf(stderr, "weft ui: --port %d is not a port (0 to 65535; 0 picks a free one)\n", a.port);
    return 2;
  }
  // Before weft::run starts its threads, so that they inherit the mask:
  // one goroutine takes SIGINT and SIGTERM in sigwait.
  sigset_t blocked = ui_signals();
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  return run_tool("ui", a.runtime, [&](const std::string& address) {
    // Reachable now, so that a wrong address is said at once, not in the page.
    runtime_client::connect(address, {"circuit", "control"});
    weft::net::listener l;
    try {
      l = weft::net::listen("tcp", "127.0.0.1:" + std::to_string(a.port));
    } catch (const std::system_error& e) {
      throw tool_error("cannot listen on 127.0.0.1:" + std::to_string(a.port) + ": " + e.code().message() +
                       (a.port != 0 ? " (another --port, or 0 to pick a free one)" : ""));
    }
    const std::string bound = l.address();
    http::guard g{std::stoi(bound.substr(bound.rfind(':') + 1)), random_token()};
    ui_server server(address);
    const std::map<std::string, http::route_entry> routes = server.routes();
    std::printf("weft ui: serving the circuit of %s\nweft ui: open http://127.0.0.1:%d/?token=%s\n", address.c_str(),
                g.port, g.token.c_str());
    std::fflush(stdout);

    weft::chan<int> stop;  // closed when a signal came
    weft::go(weft::go_options{.name = "weft ui signals"}, [&l, stop]() mutable {
      weft::blocking([] {
        sigset_t s = ui_signals();
        int got = 0;
        while (sigwait(&s, &got) != 0) {}
        return got;
      });
      stop.close();
      l.close();
    });
    weft::wait_group sweeper;
    sweeper.add(1);
    weft::go(weft::go_options{.name = "weft ui instrumentation sweep"}, [&server, &sweeper, stop] {
      for (;;) {
        if (weft::select(weft::on_recv(stop, [] {}), weft::on_recv(weft::after(std::chrono::seconds(2)), [] {})) == 0)
          break;
        server.instrument_off(false);
      }
      sweeper.done();
    });
    http::serve(l, g, routes);
    sweeper.wait();
    server.instrument_off(true);
    std::fprintf(stderr, "weft ui: stopped\n");
    return 0;
  });
}

}  // namespace weft::tool
