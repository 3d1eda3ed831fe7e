// tests/tools/weft_ui_test.cpp: `weft ui` against a real weftd and a real
// worker. The browser test drives a real headless Chromium (Debian's
// chromium; tests/tools/ui_browser.py over the DevTools protocol): the page
// loads, the spawned worker appears in the tree, a mouse click on it
// selects it, its goroutine table lists the goroutine it named, a
// screenshot is saved (the README's docs/img/weft-ui.png is one), Stacks
// shows the goroutine, the trace button downloads a trace, and Kill asks
// first, then ends the worker. No
// Chromium is a failure that says what to install (scripts/deps.sh lists
// it, so CI has it).
// The HTTP tests need no browser: the endpoints answer JSON, the trace is a
// Perfetto document, kill ends the worker, refusals say why, and the
// goroutine instrumentation the page started is turned off once it stops
// asking. This binary is its own worker (weft::is_worker).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <weft/circuit.hpp>
#include <weft/net.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "remote/weftd_fixture.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_WEFTD) || !defined(WEFT_TEST_UI_BROWSER)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT, WEFT_TEST_WEFTD and WEFT_TEST_UI_BROWSER for this test"
#endif

namespace {

using namespace std::chrono_literals;

// A goroutine named "ui-ticker" that wakes every 20 ms (so that the
// instrumentation has a record of it), until `stop` gives a value; says
// it runs on `ready`.
int ticks(std::string ready, std::string stop) {
  std::atomic<bool> done{false};
  weft::wait_group wg;
  wg.add(1);
  weft::go(weft::go_options{.name = "ui-ticker"}, [&] {
    while (!done.load()) weft::this_goroutine::sleep_for(20ms);
    wg.done();
  });
  weft::remote::chan<int>(ready).send(1);
  weft::remote::chan<int>(stop).recv();
  done = true;
  wg.wait();
  return 0;
}
WEFT_SPAWNABLE(ticks);

struct http_reply {
  int status = 0;
  std::string head;
  std::string body;
};

// One request to weft ui (raw, as a browser would send it). REQUIRES:
// inside weft::run.
http_reply http(int port, const std::string& method, const std::string& target, const std::string& host = "") {
  weft::net::conn c = weft::net::dial("tcp", "127.0.0.1:" + std::to_string(port), 5s);
  c.set_deadline(std::chrono::steady_clock::now() + 30s);
  c.write(method + " " + target + " HTTP/1.1\r\nHost: " + (host.empty() ? "127.0.0.1:" + std::to_string(port) : host) +
          "\r\nContent-Length: 0\r\n\r\n");
  std::string all;
  char buf[65536];
  for (;;) {
    std::size_t n = c.read(std::span<std::byte>(reinterpret_cast<std::byte*>(buf), sizeof buf));
    if (n == 0) break;
    all.append(buf, n);
  }
  http_reply r;
  std::size_t end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.head = all.substr(0, end);
  r.body = all.substr(end + 4);
  return r;
}

class WeftUi : public weft_test::weftd_test {
 protected:
  // Starts weft ui and reads the URL it prints.
  void start_ui() {
    ui_ = std::make_unique<weft_test::command>(
        std::vector<std::string>{WEFT_TEST_WEFT, "ui", "--runtime", address()});
    auto end = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      std::string out = ui_->out();
      std::size_t at = out.find("open http://127.0.0.1:");
      std::size_t eol = at == std::string::npos ? std::string::npos : out.find('\n', at);
      if (eol != std::string::npos) {
        url_ = out.substr(at + 5, eol - at - 5);
        port_ = std::stoi(url_.substr(17));
        token_ = url_.substr(url_.find("token=") + 6);
        return;
      }
      ASSERT_EQ(ui_->wait(0ms), -1) << "weft ui ended: " << ui_->err();
      ASSERT_LT(std::chrono::steady_clock::now(), end) << "weft ui printed no URL: " << out << ui_->err();
      std::this_thread::sleep_for(10ms);
    }
  }
  void TearDown() override {
    if (ui_) {
      ::kill(ui_->pid(), SIGTERM);
      EXPECT_EQ(ui_->wait(10s), 0) << "weft ui ends with status 0 on SIGTERM: " << ui_->err();
    }
    weftd_test::TearDown();
  }
  weft::spawned<int> worker(const std::string& anchor, const std::string& tag) {
    weft::remote::chan<int> ready("ui-ready-" + tag);
    auto w = weft::spawn({.anchors = {anchor}}, ticks, "ui-ready-" + tag, "ui-stop-" + tag);
    EXPECT_EQ(ready.recv().value_or(-1), 1);
    return w;
  }
  static void stop(weft::spawned<int>& w, const std::string& tag) {
    weft::remote::chan<int>("ui-stop-" + tag).send(0);
    w.get();
    w.worker().wait();
  }
  std::string api(const std::string& path, const std::string& query = "") const {
    return path + "?token=" + token_ + query;
  }

  std::unique_ptr<weft_test::command> ui_;
  std::string url_, token_;
  int port_ = 0;
};

TEST_F(WeftUi, ChromiumShowsAWorkersGoroutinesAndStacksTracesAndKillsIt) {
  weft::run(
      [this] {
        auto w = worker("/ui/demo", "browser");
        const std::string id = w.worker().id();
        start_ui();
        if (HasFatalFailure()) return;
        const std::string shot = std::string(WEFT_TEST_UI_SCREENSHOT);
        ::unlink(shot.c_str());
        weft_test::command browser({"/usr/bin/python3", WEFT_TEST_UI_BROWSER, url_, id, "ui-ticker", shot});
        const int status = browser.wait(120s);
        EXPECT_NE(status, 3) << "no Chromium to drive: " << browser.err();
        EXPECT_EQ(status, 0) << browser.out() << browser.err();
        EXPECT_NE(browser.out().find("goroutines: table lists ui-ticker"), std::string::npos) << browser.out();
        std::ifstream png(shot, std::ios::binary);
        char magic[8] = {};
        png.read(magic, 8);
        EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << "a PNG screenshot at " << shot;
        EXPECT_NE(browser.out().find("stacks: show ui-ticker"), std::string::npos) << browser.out();
        EXPECT_NE(browser.out().find("trace: downloaded weft-trace-" + std::to_string(w.worker().pid()) + ".json"),
                  std::string::npos)
            << browser.out();
        // The browser killed it, after asking.
        EXPECT_NE(browser.out().find("kill: asked to confirm; " + id + " ended and left the tree"), std::string::npos)
            << browser.out();
        if (status != 0) stop(w, "browser");
        w.worker().wait();
      },
      attached());
}

TEST_F(WeftUi, EndpointsAnswerAndTraceAndKillAct) {
  weft::run(
      [this] {
        auto w = worker("/ui/api", "api");
        const std::string id = w.worker().id();
        start_ui();
        if (HasFatalFailure()) return;
        http_reply page = http(port_, "GET", api("/"));
        EXPECT_EQ(page.status, 200);
        EXPECT_NE(page.body.find("<title>weft ui</title>"), std::string::npos);
        http_reply workers = http(port_, "GET", api("/api/workers"));
        EXPECT_EQ(workers.status, 200) << workers.body;
        EXPECT_NE(workers.body.find("\"path\":\"/ui/api/" + id + "\""), std::string::npos) << workers.body;
        EXPECT_NE(workers.body.find("\"uptime_s\":"), std::string::npos) << workers.body;
        http_reply vitals = http(port_, "GET", api("/api/vitals", "&target=" + id));
        EXPECT_EQ(vitals.status, 200) << vitals.body;
        EXPECT_NE(vitals.body.find("\"pid\":" + std::to_string(w.worker().pid())), std::string::npos) << vitals.body;
        http_reply stack = http(port_, "GET", api("/api/stack", "&target=" + id));
        EXPECT_EQ(stack.status, 200) << stack.body;
        EXPECT_NE(stack.body.find("\"ui-ticker\""), std::string::npos) << stack.body;
        http_reply gone = http(port_, "GET", api("/api/stack", "&target=R0123456789abcdef"));
        EXPECT_EQ(gone.status, 404) << gone.body;
        EXPECT_NE(gone.body.find("is not attached"), std::string::npos) << gone.body;
        http_reply bad = http(port_, "GET", api("/api/stack", "&target=/ui/api"));
        EXPECT_EQ(bad.status, 400) << bad.body;

        // The page refreshes with the token; another site's page has none.
        http_reply no_token = http(port_, "POST", "/api/kill?target=" + id);
        EXPECT_EQ(no_token.status, 403) << no_token.body;
        http_reply rebound = http(port_, "GET", api("/api/workers"), "attacker.example:" + std::to_string(port_));
        EXPECT_EQ(rebound.status, 403) << rebound.body;

        http_reply trace = http(port_, "POST", api("/api/trace", "&target=" + id + "&seconds=0.3"));
        EXPECT_EQ(trace.status, 200) << trace.body.substr(0, 500);
        EXPECT_NE(trace.body.find("\"traceEvents\""), std::string::npos) << trace.body.substr(0, 500);
        EXPECT_NE(trace.head.find("filename=\"weft-trace-" + std::to_string(w.worker().pid()) + ".json\""),
                  std::string::npos)
            << trace.head;

        http_reply killed = http(port_, "POST", api("/api/kill", "&target=" + id));
        EXPECT_EQ(killed.status, 200) << killed.body;
        EXPECT_NE(killed.body.find("\"worker\":\"" + id + "\""), std::string::npos) << killed.body;
        w.worker().wait();
        http_reply after = http(port_, "GET", api("/api/workers"));
        EXPECT_EQ(after.body.find(id), std::string::npos) << "a killed worker leaves the tree: " << after.body;
      },
      attached());
}

TEST_F(WeftUi, InstrumentationStopsWhenThePageStopsAsking) {
  weft::run(
      [this] {
        auto w = worker("/ui/idle", "idle");
        const std::string id = w.worker().id();
        start_ui();
        if (HasFatalFailure()) return;
        http_reply first = http(port_, "GET", api("/api/goroutines", "&target=" + id));
        EXPECT_EQ(first.status, 200) << first.body;
        EXPECT_NE(first.body.find("\"started_now\":true"), std::string::npos) << first.body;
        http_reply again = http(port_, "GET", api("/api/goroutines", "&target=" + id));
        EXPECT_NE(again.body.find("\"started_now\":false"), std::string::npos) << again.body;
        // weft ui turns it off 10 s after the last ask (its sweep runs
        // every 2 s); then the next ask starts it anew.
        weft::this_goroutine::sleep_for(13s);
        weft_test::command peek({WEFT_TEST_WEFT, "peek", "--goroutines", id, "--runtime", address()});
        EXPECT_EQ(peek.wait(20s), 0) << peek.err();
        EXPECT_NE(peek.out().find("\"started_now\":true"), std::string::npos)
            << "weft ui turned the instrumentation off: " << peek.out();
        stop(w, "idle");
      },
      attached());
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
