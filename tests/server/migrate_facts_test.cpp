// src/server/migrate_facts: auto's per-goroutine rules on made-up numbers
// (a goroutine's CPU and blocked time over a window: what they make of it,
// how they change auto's choice, and the numbers in its reason). The
// process-level rules are tests/server/migrate_auto_test.cpp; real
// processes, tests/remote/migrate_test.cpp (MigrateAuto).
#include "server/migrate_facts.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/migrate_auto.hpp"
#include "server/auto_process_testing.hpp"

namespace {

using weft::server::auto_choice;
using weft::server::auto_policy;
using weft::server::auto_process;
using weft::server::choose_auto;
using weft::server::goroutine_facts;

constexpr std::int64_t ms = 1'000'000;

using weft_test::proc;

// Over a 0.3 s window: running, and blocked on the server, on xref calls
// and on sleep, in ms.
goroutine_facts facts(std::int64_t running, std::int64_t server, std::int64_t xref, std::int64_t sleep) {
  goroutine_facts f;
  f.known = true;
  f.window_s = 0.3;
  f.running_ns = running * ms;
  f.server_ns = server * ms;
  f.xref_ns = xref * ms;
  f.blocked_ns = (server + xref + sleep) * ms;
  if (sleep > 0) {
    f.other_reason = "sleep";
    f.other_ns = sleep * ms;
  }
  return f;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(MigrateFacts, AGoroutineIsIdleUnlessItUsesCpuOrWaitsMostlyOnRemoteOperations) {
  const auto_policy pol;  // 5% of the window running; 50% waiting on remote operations
  EXPECT_TRUE(kind_of(facts(14, 0, 0, 280), pol).idle());  // 4.7%
  EXPECT_TRUE(kind_of(facts(16, 0, 0, 280), pol).uses_cpu);  // 5.3%
  EXPECT_TRUE(kind_of(facts(1, 140, 0, 150), pol).idle());  // 47% remote
  const auto server = kind_of(facts(1, 101, 50, 140), pol);  // 50.3% remote, more on the server
  EXPECT_TRUE(server.remote_bound);
  EXPECT_FALSE(server.on_peer);
  EXPECT_TRUE(kind_of(facts(1, 50, 101, 140), pol).on_peer);
}

// One sample of a migratable goroutine, as a stub reports it.
weft::server::v1::MigratableStats sample(std::int64_t running, std::vector<std::pair<const char*, std::int64_t>> by) {
  weft::server::v1::MigratableStats m;
  m.set_goroutine("M0123456789abcdef");
  m.set_runtime_id(7);
  m.set_recorded(true);
  m.set_running_ns(running * ms);
  std::int64_t blocked = 0;
  for (const auto& [reason, t] : by) {
    auto* b = m.add_blocked_by();
    b->set_reason(reason);
    b->set_ns(t * ms);
    blocked += t * ms;
  }
  m.set_blocked_ns(blocked);
  return m;
}

TEST(MigrateFacts, TheWindowIsTheDifferenceOfTwoSamplesWithRemoteWaitsToldApart) {
  const auto a = sample(100, {{"remote: runtime server", 40}, {"sleep", 500}});
  const auto b = sample(160, {{"remote: runtime server", 100}, {"remote: xref call", 30}, {"sleep", 600},
                              {"chan receive", 20}});
  const goroutine_facts f = weft::server::facts_between(&a, b, 0.3);
  EXPECT_TRUE(f.known);
  EXPECT_DOUBLE_EQ(f.window_s, 0.3);
  EXPECT_EQ(f.running_ns, 60 * ms);
  EXPECT_EQ(f.server_ns, 60 * ms);
  EXPECT_EQ(f.xref_ns, 30 * ms);
  EXPECT_EQ(f.blocked_ns, 210 * ms);
  EXPECT_EQ(f.other_reason, "sleep");  // the longest other wait in the window
  EXPECT_EQ(f.other_ns, 100 * ms);
  // No first sample (instrumentation began with the window): from zero.
  EXPECT_EQ(weft::server::facts_between(nullptr, b, 0.3).running_ns, 160 * ms);
  // No record: parked since before the window, never woken.
  auto parked = b;
  parked.set_recorded(false);
  const goroutine_facts p = weft::server::facts_between(&a, parked, 0.3);
  EXPECT_EQ(p.running_ns, 0);
  EXPECT_EQ(p.blocked_ns, 300 * ms);
  EXPECT_TRUE(kind_of(p, auto_policy{}).idle());
}

TEST(MigrateFacts, TheNumbersInWords) {
  EXPECT_EQ(describe(facts(200, 10, 0, 80)),
            "over 0.30 s it ran 200.0 ms (67%), waited 10.0 ms on the runtime server and 0.0 ms on xref calls, 80.0 "
            "ms on sleep");
}

TEST(MigrateFacts, OffAnOverloadedHostAGoroutineThatUsesCpuMovesAndItsNumbersAreInTheReason) {
  const auto_choice c =
      choose_auto(proc(1, true, 1.8), {proc(2, false, 0.5), proc(3, false, 0.2)}, auto_policy{}, facts(200, 0, 0, 90));
  EXPECT_EQ(c.target, 3u) << c.reason;
  EXPECT_FALSE(c.stays);
  EXPECT_TRUE(has(c.reason, "auto: load: its host's load is 1.80 per CPU")) << c.reason;
  EXPECT_TRUE(has(c.reason, "; the goroutine: over 0.30 s it ran 200.0 ms (67%)")) << c.reason;
}

TEST(MigrateFacts, AnIdleGoroutineStaysEvenOnAnOverloadedHostAndTheReasonSaysWhy) {
  const std::vector<auto_process> cs = {proc(2, false, 0.5), proc(3, false, 0.2)};
  auto_choice c = choose_auto(proc(1, true, 1.8), cs, auto_policy{}, facts(1, 2, 0, 290));
  EXPECT_EQ(c.target, 0u) << c.reason;
  EXPECT_TRUE(c.stays);
  EXPECT_EQ(c.reason,
            "auto: stays: the goroutine is idle (over 0.30 s it ran 1.0 ms (0%), waited 2.0 ms on the runtime server "
            "and 0.0 ms on xref calls, 290.0 ms on sleep): its host's load is 1.80 per CPU, over the threshold 0.90, "
            "but moving an idle goroutine frees nothing");
  // Not overloaded: it stays too; nothing is better for it.
  c = choose_auto(proc(1, true, 0.2), cs, auto_policy{}, facts(1, 2, 0, 290));
  EXPECT_TRUE(c.stays);
  EXPECT_TRUE(has(c.reason, "it neither uses CPU nor waits on remote operations, so no process is better for it"))
      << c.reason;
  // Switched off (no facts): the load rule moves it, as it did before.
  c = choose_auto(proc(1, true, 1.8), cs, auto_policy{});
  EXPECT_EQ(c.target, 3u) << c.reason;
  EXPECT_FALSE(c.stays);
}

TEST(MigrateFacts, ARemoteBoundGoroutineThatUsesLittleCpuIsNotIdleAndMovesByTheProcessRules) {
  auto_process owner = proc(1, false, 1.8);
  owner.bytes = 50000;
  owner.seconds = 1;
  const std::vector<auto_process> cs = {proc(2, false, 0.2), proc(3, true, 0.5, 1)};
  auto_choice c = choose_auto(owner, cs, auto_policy{}, facts(3, 250, 0, 0));  // 1% CPU, 83% on the server
  EXPECT_FALSE(c.stays) << c.reason;
  EXPECT_EQ(c.target, 2u) << c.reason;  // off the overloaded host first
  EXPECT_TRUE(has(c.reason, "auto: load: ")) << c.reason;
  owner.load = 0.2;  // not overloaded: next to the weftd it waits on
  c = choose_auto(owner, cs, auto_policy{}, facts(3, 250, 0, 0));
  EXPECT_EQ(c.target, 3u) << c.reason;
  EXPECT_TRUE(has(c.reason, "auto: next to this weftd")) << c.reason;
  EXPECT_TRUE(has(c.reason, "waited 250.0 ms on the runtime server")) << c.reason;
}

TEST(MigrateFacts, AGoroutineWaitingOnXrefCallsGoesToThePeerThoughItsProcessTalksMoreToTheWeftd) {
  auto_process owner = proc(1, true, 0.2);
  owner.bytes = 1 << 20;  // the process's other goroutines talk to the weftd
  owner.peers = {{.id = 2, .pid = 1002, .host = "here", .bytes = 200000}};
  const std::vector<auto_process> cs = {proc(2, true, 0.2, 3), proc(3, true, 0.2)};
  const auto_choice c = choose_auto(owner, cs, auto_policy{}, facts(20, 10, 240, 0));
  EXPECT_EQ(c.target, 2u) << c.reason;
  EXPECT_TRUE(has(c.reason, "auto: peer: ")) << c.reason;
  EXPECT_TRUE(has(c.reason, "and the goroutine waits on xref calls more than on this weftd")) << c.reason;
  // Per process only (no facts), or a goroutine that waits on the server:
  // the process's bytes with the weftd outweigh the peer's.
  EXPECT_EQ(choose_auto(owner, cs, auto_policy{}).target, 3u);
  EXPECT_EQ(choose_auto(owner, cs, auto_policy{}, facts(20, 240, 10, 0)).target, 3u);
}

TEST(MigrateFacts, UnknownFactsDecideExactlyAsThePerProcessRules) {
  auto_process owner = proc(1, false, 0.1);
  owner.bytes = 300;
  owner.seconds = 3;
  const std::vector<auto_process> cs = {proc(2, true, 0.1, 3), proc(3, false, 0.1, 1)};
  const auto_choice c = choose_auto(owner, cs, auto_policy{}, goroutine_facts{});
  const auto_choice d = choose_auto(owner, cs, auto_policy{});
  EXPECT_EQ(c.target, d.target);
  EXPECT_EQ(c.reason, d.reason);
  EXPECT_FALSE(c.stays);
}

}  // namespace
