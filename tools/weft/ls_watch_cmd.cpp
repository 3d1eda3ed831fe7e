// tools/weft/ls_watch_cmd.cpp: `weft ls --watch [-l] [--json] [SELECTOR...]`:
// the entries as weft ls prints them, then one line per change, until
// SIGINT or SIGTERM (status 0) or until the weftd goes or ends the watch
// (status 1, saying why).
//
//   /db/shard/R8efd95a09bcde325          the entries at the start, sorted
//   + /db/shard/R0c1d2e3f40516273        joined
//   - /db/shard/R8efd95a09bcde325        left
// -l: the long fields after the sign; --json: one object per line, every
// one with "event": "join" for each entry at the start and each join,
// then "synced" once (the start is complete), "leave" for each leave.
// Warnings (etcd out of reach: changes may come late) go to stderr.
//
// One AnchorWatch per selector, on one connection (docs/protocol.md,
// "Workers"). Entries are counted per path, so a path that two selectors
// match prints once: "+" when its first watch has it, "-" when its last
// lets it go. The start is printed once every watch has sent SYNCED, with
// the changes that came meanwhile folded in.
//
// Signals: SIGINT and SIGTERM are blocked in every thread (the mask is set
// before weft::run) and taken by one goroutine in sigwait (inside
// weft::blocking: its thread waits, not the scheduler), which interrupts
// the connection's read. When the watch ends first, the goroutine is woken
// with SIGUSR2, so weft::run does not wait on a thread parked in sigwait.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <weft/blocking.hpp>
#include <weft/go.hpp>
#include <weft/wait_group.hpp>

#include "circuit_cmd.hpp"
#include "wire/json.hpp"

namespace weft::tool {

namespace {

sigset_t watch_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGUSR2);
  return s;
}

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);  // a pipe's reader sees each change as it comes
}

std::string json_event(const char* event, const v1::AnchorEntry* e) {
  std::string out = std::string("{\"event\":\"") + event + "\"";
  if (e != nullptr) out += "," + entry_json_fields(*e);
  return out + "}";
}

}  // namespace

void block_watch_signals() {
  sigset_t s = watch_signals();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

int watch_anchors(runtime_client& rc, const circuit_args& a) {
  weft::wait_group signaller;
  signaller.add(1);
  weft::go(weft::go_options{.name = "weft ls signals"}, [&rc, &signaller] {
    const int sig = weft::blocking([] {
      sigset_t s = watch_signals();
      int got = 0;
      while (sigwait(&s, &got) != 0) {}
      return got;
    });
    if (sig != SIGUSR2) rc.interrupt();
    signaller.done();
  });
  struct wake_at_end {
    weft::wait_group& wg;
    ~wake_at_end() {
      ::kill(::getpid(), SIGUSR2);  // blocked everywhere: it goes to the sigwait (or stays pending)
      wg.wait();
    }
  } wake{signaller};

  std::map<std::uint64_t, std::string> watches;  // request id -> selector
  for (const std::string& s : a.selectors.empty() ? std::vector<std::string>{"/..."} : a.selectors) {
    if (std::string why = anchor_path_not_utf8(s); !why.empty()) throw tool_error(why);
    wire::frame req;
    req.mutable_anchor_watch()->set_selector(s);
    watches.emplace(rc.send(req), s);
  }
  std::size_t unsynced = watches.size();
  struct held {
    int watches = 0;  // how many selectors have it
    v1::AnchorEntry entry;
  };
  std::map<std::string, held> live;  // by path
  auto show = [&](const char* event, char sign, const v1::AnchorEntry& e) {
    if (a.json) {
      print_line(json_event(event, &e));
    } else {
      print_line(std::string(1, sign) + " " + entry_text(e, a.long_format));
    }
  };
  for (;;) {
    std::optional<wire::frame> f;
    try {
      f = rc.next();
    } catch (const tool_error& e) {
      throw tool_error(std::string("the watch ended: ") + e.what());
    }
    if (!f) return 0;  // SIGINT or SIGTERM
    auto w = watches.find(f->id());
    if (w == watches.end()) continue;
    if (f->has_error())
      throw tool_error("weftd at " + rc.address() + " ended the watch of " + w->second + ": " + f->error().message());
    if (!f->has_anchor_event())
      throw tool_error("weftd at " + rc.address() + " answered AnchorWatch with something else");
    const v1::AnchorEvent& ev = f->anchor_event();
    if (!ev.warning().empty()) std::fprintf(stderr, "weft: warning: %s\n", ev.warning().c_str());
    const v1::AnchorEntry& e = ev.entry();
    switch (ev.kind()) {
      case v1::AnchorEvent::JOIN: {
        held& h = live[e.path()];
        if (h.watches++ > 0) break;
        h.entry = e;
        if (unsynced == 0) show("join", '+', e);
        break;
      }
      case v1::AnchorEvent::LEAVE: {
        auto it = live.find(e.path());
        if (it == live.end() || --it->second.watches > 0) break;
        if (unsynced == 0) show("leave", '-', it->second.entry);
        live.erase(it);
        break;
      }
      case v1::AnchorEvent::SYNCED:
        if (unsynced == 0 || --unsynced > 0) break;
        for (const auto& [path, h] : live)
          print_line(a.json ? json_event("join", &h.entry) : entry_text(h.entry, a.long_format));
        if (a.json) print_line(json_event("synced", nullptr));
        break;
      default: break;  // a warning alone
    }
  }
}

}  // namespace weft::tool
