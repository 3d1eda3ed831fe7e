// examples/timer_reset.cpp: weft::timer's stop and reset (Go 1.23's
// meaning), a debouncer built on reset, and weft::ticker. docs/timers.md
// walks through it.
//
//   timer_reset
//
// Prints what stop and reset returned, what the debouncer saved and how
// the ticker behaved; exits 1 if something came out otherwise than it must.

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

const char* yes(bool b) { return b ? "yes" : "no"; }

// Types `text` one key at a time, a millisecond apart, into keys.
void type(weft::chan<char> keys, const std::string& text) {
  for (char c : text) {
    keys.send(c);
    weft::this_goroutine::sleep_for(1ms);
  }
}

// Collects keys and saves what was typed once no key has come for `quiet`:
// every key resets the timer. Returns what it saved, one entry per save.
std::vector<std::string> debounce(weft::chan<char> keys, clk::duration quiet) {
  std::vector<std::string> saved;
  std::string pending;
  weft::timer idle(quiet);
  idle.stop();  // armed only once a key comes
  for (bool open = true; open;) {
    weft::select(weft::on_recv(keys, [&](std::optional<char> k) {
                   if (!k) { open = false; return; }
                   pending += *k;
                   idle.reset(quiet);  // no stale fire can come after this
                 }),
                 weft::on_recv(idle.channel(), [&] {
                   saved.push_back(pending);
                   pending.clear();
                 }));
  }
  if (!pending.empty()) saved.push_back(pending);  // typed, then the keyboard went away
  return saved;
}

}  // namespace

int main() {
  return weft::run([] {
    bool ok = true;

    // 1. stop and reset say whether the timer was pending: armed, or fired
    // with its value not yet received. Afterwards no earlier value comes.
    weft::timer t(1ms);
    weft::this_goroutine::sleep_for(20ms);  // it fires; nobody receives
    std::printf("fired, value not received: channel holds %zu\n", t.channel().size());
    bool stopped = t.stop();
    std::printf("stop() -> %s (the unreceived value is dropped: channel holds %zu)\n", stopped ? "true" : "false",
                t.channel().size());
    ok = ok && stopped && t.channel().size() == 0;
    auto armed_at = clk::now();
    bool was_pending = t.reset(5ms);
    auto fired = t.channel().recv();
    std::printf("reset(5ms) -> %s; received a time no earlier than the deadline: %s\n",
                was_pending ? "true" : "false", yes(fired && *fired >= armed_at + 5ms));
    ok = ok && !was_pending && fired && *fired >= armed_at + 5ms;
    was_pending = t.reset(1h);
    bool stopped_again = t.stop();
    std::printf("reset(1h) -> %s (the last value was received); stop() -> %s (it was armed)\n",
                was_pending ? "true" : "false", stopped_again ? "true" : "false");
    ok = ok && !was_pending && stopped_again;

    // 2. A debouncer: three bursts of typing, 300 ms apart, each saved once
    // the keyboard has been quiet for 100 ms.
    weft::chan<char> keys;
    weft::chan<std::vector<std::string>> result(1);
    weft::go([=]() mutable { result.send(debounce(keys, 100ms)); });
    for (const char* burst : {"hello", "timers", "!"}) {
      type(keys, burst);
      weft::this_goroutine::sleep_for(300ms);
    }
    keys.close();
    std::vector<std::string> saved = *result.recv();
    std::printf("debounced 3 bursts of typing into %zu saves:", saved.size());
    for (const auto& s : saved) std::printf(" \"%s\"", s.c_str());
    std::printf("\n");
    ok = ok && saved == std::vector<std::string>{"hello", "timers", "!"};

    // 3. A ticker ticks on the multiples of its period after its start,
    // never early; its channel holds one tick, so a slow receiver misses
    // ticks instead of getting a backlog.
    auto start = clk::now();
    weft::ticker k(20ms);
    bool early = false;
    for (int i = 1; i <= 5; ++i) early = early || *k.channel().recv() < start + i * 20ms;
    std::printf("5 ticks of a 20 ms ticker, none early: %s\n", yes(!early));
    weft::this_goroutine::sleep_for(100ms);  // five more periods pass
    std::size_t waiting = k.channel().size();
    std::printf("after 100 ms without receiving, ticks waiting: %zu\n", waiting);
    k.stop();
    std::printf("after stop(), ticks waiting: %zu\n", k.channel().size());
    ok = ok && !early && waiting == 1 && k.channel().size() == 0;
    return ok ? 0 : 1;
  });
}
