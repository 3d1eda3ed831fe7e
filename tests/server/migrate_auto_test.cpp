// src/server/migrate_auto: auto's rules on made-up measures (each rule,
// the order between them, the reason naming the measure that decided),
// and the loads' test hook. The real processes' side is
// tests/remote/migrate_test.cpp (MigrateAuto) and the cluster suite.
#include "server/migrate_auto.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "server/auto_process_testing.hpp"

namespace {

using weft::server::auto_choice;
using weft::server::auto_policy;
using weft::server::auto_process;
using weft::server::choose_auto;
using weft::server::goroutine_facts;

using weft_test::proc;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(MigrateAutoRules, AnOverloadedHostSendsItToTheLeastLoadedHostBelowTheThreshold) {
  const auto_policy pol;  // 0.9
  const auto_choice c = choose_auto(proc(1, true, 1.8), {proc(2, false, 0.5), proc(3, false, 0.2, 5), proc(4, true, 1.8)},
                                    pol);
  EXPECT_EQ(c.target, 3u) << c.reason;  // the least loaded, though it has received the most
  EXPECT_TRUE(has(c.reason, "auto: load: its host's load is 1.80 per CPU, over the threshold 0.90")) << c.reason;
  EXPECT_TRUE(has(c.reason, "pid 1003 on far3 is on the least loaded host (0.20 per CPU)")) << c.reason;
}

TEST(MigrateAutoRules, LoadComesBeforeTrafficAndUnknownLoadsAreNotChosenForLoad) {
  auto_process owner = proc(1, false, 2.0);
  owner.bytes = 1 << 20;
  owner.seconds = 1;  // it talks to the weftd a lot, but its host is overloaded
  const auto_choice c = choose_auto(owner, {proc(2, true, 1.5), proc(3, false, -1), proc(4, false, 0.4)}, auto_policy{});
  EXPECT_EQ(c.target, 4u) << c.reason;
  EXPECT_TRUE(has(c.reason, "auto: load:")) << c.reason;
}

TEST(MigrateAutoRules, AFarProcessThatTalksToTheWeftdComesNextToIt) {
  auto_process owner = proc(1, false, 0.1);
  owner.bytes = 50000;
  owner.seconds = 2;
  const auto_choice c =
      choose_auto(owner, {proc(2, false, 0.1), proc(3, true, 0.3, 2), proc(4, true, 0.3, 1)}, auto_policy{});
  EXPECT_EQ(c.target, 4u) << c.reason;  // next to the weftd, the one given fewer
  EXPECT_TRUE(has(c.reason, "auto: next to this weftd, which holds its channels and variables")) << c.reason;
  EXPECT_TRUE(has(c.reason, "attached from 10.0.0.1:5000 (another host), exchanged 50000 bytes in 2.00 s "
                            "(25000 bytes/s) with it"))
      << c.reason;
}

TEST(MigrateAutoRules, ALoadedWeftdHostStillTakesItFromAHostOfUnknownLoadButNotFromAFineOne) {
  auto_process owner = proc(1, false, -1);
  owner.bytes = 50000;
  owner.seconds = 1;
  const std::vector<auto_process> cs = {proc(2, false, -1), proc(3, true, 2.0)};
  auto_choice c = choose_auto(owner, cs, auto_policy{});
  EXPECT_EQ(c.target, 3u) << c.reason;
  EXPECT_TRUE(has(c.reason, "next to this weftd")) << c.reason;
  owner.load = 0.2;  // known to be fine: it stays off the loaded host
  c = choose_auto(owner, cs, auto_policy{});
  EXPECT_EQ(c.target, 2u) << c.reason;
}

// Rule 2: the peer it exchanged the most bytes with over peer links.
TEST(MigrateAutoRules, ItGoesToTheProcessOfItsBusiestPeerAndTheReasonNamesTheBytes) {
  auto_process owner = proc(1, true, 0.2);
  owner.bytes = 5000;  // with the weftd: less than with the peers
  owner.peers = {{.id = 2, .pid = 1002, .host = "here", .bytes = 200000},
                 {.id = 3, .pid = 1003, .host = "here", .bytes = 900000}};
  const auto_choice c = choose_auto(owner, {proc(2, true, 0.2), proc(3, true, 0.2, 4), proc(4, true, 0.2)}, auto_policy{});
  EXPECT_EQ(c.target, 3u) << c.reason;  // the busiest peer, though it has received the most
  EXPECT_TRUE(has(c.reason, "auto: peer: pid 1001 on here exchanged 900000 bytes with pid 1003 on here over peer "
                            "links (xrefs), its busiest peer, and 5000 bytes with this weftd; it goes to that process"))
      << c.reason;
}

// Rule 2 with the goroutine's own bytes (its stub counts them): its own
// busiest peer decides, not its process's; a goroutine that calls no peer
// is not drawn to its process's; an older stub leaves the process's.
TEST(MigrateAutoRules, AGoroutinesOwnXrefBytesChooseItsPeerOverItsProcesss) {
  auto_process owner = proc(1, true, 0.2);
  owner.bytes = 5000;
  owner.peers = {{.id = 2, .pid = 1002, .host = "here", .bytes = 300000},
                 {.id = 3, .pid = 1003, .host = "here", .bytes = 900000}};
  goroutine_facts g;
  g.known = true;
  g.window_s = 1;
  g.running_ns = 500'000'000;  // it uses CPU: not idle (rule 0)
  g.peers_counted = true;
  g.peers = {{.id = 2, .pid = 1002, .host = "here", .bytes = 300000}};
  const std::vector<auto_process> cs = {proc(2, true, 0.2), proc(3, true, 0.2), proc(4, true, 0.2)};
  auto_choice c = choose_auto(owner, cs, auto_policy{}, g);
  EXPECT_EQ(c.target, 2u) << c.reason;
  EXPECT_TRUE(has(c.reason, "auto: peer: pid 1001 on here (the goroutine's own xref calls) exchanged 300000 bytes "
                            "with pid 1002 on here over peer links (xrefs), the goroutine's busiest peer, and its "
                            "process 5000 bytes with this weftd"))
      << c.reason;
  g.peers.clear();  // it calls no peer: its process's busiest peer is no reason
  c = choose_auto(owner, cs, auto_policy{}, g);
  EXPECT_FALSE(has(c.reason, "auto: peer: ")) << c.reason;
  g.peers_counted = false;  // an older stub: the process's peers decide
  c = choose_auto(owner, cs, auto_policy{}, g);
  EXPECT_EQ(c.target, 3u) << c.reason;
}

TEST(MigrateAutoRules, APeerThatAcceptsNoneDrawsItToItsHostOnlyFromAnotherHost) {
  auto_process owner = proc(1, false, 0.2);
  owner.peers = {{.id = 0, .pid = 1009, .host = "far9", .bytes = 1 << 20}};
  auto_process on_peer_host = proc(5, false, 0.2);
  on_peer_host.host = "far9";
  auto_choice c = choose_auto(owner, {proc(2, true, 0.2), on_peer_host}, auto_policy{});
  EXPECT_EQ(c.target, 5u) << c.reason;
  EXPECT_TRUE(has(c.reason, "auto: peer: ")) << c.reason;
  EXPECT_TRUE(has(c.reason, "pid 1005 on far9 is on that host")) << c.reason;
  // On the owner's own host already: moving within it brings it no nearer.
  owner.peers[0].host = owner.host;
  c = choose_auto(owner, {proc(2, true, 0.2), on_peer_host}, auto_policy{});
  EXPECT_FALSE(has(c.reason, "auto: peer: ")) << c.reason;
  EXPECT_TRUE(has(c.reason, "accepts no migrations and no other accepting process is nearer to it")) << c.reason;
}

TEST(MigrateAutoRules, LittlePeerTrafficOrMoreWithTheWeftdOrAnOverloadedPeerDoesNotDecide) {
  auto_process owner = proc(1, true, 0.2);
  owner.peers = {{.id = 2, .pid = 1002, .host = "here", .bytes = 1000}};  // below peer_min_bytes
  const std::vector<auto_process> cs = {proc(2, true, 0.2, 3), proc(3, true, 0.2)};
  EXPECT_EQ(choose_auto(owner, cs, auto_policy{}).target, 3u);  // spread
  owner.peers[0].bytes = 100000;
  owner.bytes = 200000;  // more with the weftd than with the peer
  EXPECT_EQ(choose_auto(owner, cs, auto_policy{}).target, 3u);
  owner.bytes = 0;
  EXPECT_EQ(choose_auto(owner, cs, auto_policy{}).target, 2u);  // now the peer decides
  const auto_choice c = choose_auto(owner, {proc(2, true, 1.5, 3), proc(3, true, 0.2)}, auto_policy{});
  EXPECT_EQ(c.target, 3u) << c.reason;  // the peer's host is over the threshold
}

TEST(MigrateAutoRules, AFarProcessThatBarelyTalksToTheWeftdIsSpreadAndTheReasonSaysSo) {
  auto_process owner = proc(1, false, 0.1);
  owner.bytes = 300;
  owner.seconds = 3;  // heartbeats
  const auto_choice c = choose_auto(owner, {proc(2, true, 0.1, 3), proc(3, false, 0.1, 1)}, auto_policy{});
  EXPECT_EQ(c.target, 3u) << c.reason;
  EXPECT_TRUE(has(c.reason, "exchanged only 300 bytes in 3.00 s (100 bytes/s) with this weftd, below 1024"))
      << c.reason;
  EXPECT_TRUE(has(c.reason, "the one given the fewest goroutines (1)")) << c.reason;
}

TEST(MigrateAutoRules, OverloadedEverywhereFallsBackToSpreadingAndSaysWhy) {
  const auto_choice c = choose_auto(proc(1, true, 3.0), {proc(2, true, 3.0, 4), proc(3, true, 3.0, 1)}, auto_policy{});
  EXPECT_EQ(c.target, 3u) << c.reason;
  EXPECT_TRUE(has(c.reason, "over the threshold 0.90 (pid 1001 on here), but no accepting process is on a host below it"))
      << c.reason;
  EXPECT_TRUE(has(c.reason, "(each on a host over the load threshold)")) << c.reason;
}

TEST(MigrateAutoRules, SpreadSkipsOverloadedHostsAndNoCandidateChoosesNothing) {
  const auto_choice c = choose_auto(proc(1, true, 0.2), {proc(2, true, 1.0), proc(3, true, 0.5, 9)}, auto_policy{});
  EXPECT_EQ(c.target, 3u) << c.reason;
  EXPECT_EQ(choose_auto(proc(1, true, 0.2), {}, auto_policy{}).target, 0u);
}

TEST(MigrateAutoRules, TheTestHookOverridesLoadsByPidThenByHost) {
  const std::string path = "/tmp/weft-test-auto-load-" + std::to_string(::getpid());
  {
    std::ofstream out(path);
    out << "pid:1001 2.5\nfar2 0.7\nnonsense\n";
  }
  ::setenv("WEFT_TEST_MIGRATE_LOAD", path.c_str(), 1);
  const weft::server::load_table t = weft::server::gather_loads(nullptr);
  ::unsetenv("WEFT_TEST_MIGRATE_LOAD");
  ::unlink(path.c_str());
  EXPECT_DOUBLE_EQ(t.of(proc(1, true, -1)), 2.5);  // by pid, over its (near) host's real load
  EXPECT_DOUBLE_EQ(t.of(proc(2, false, -1)), 0.7);  // by host name
  EXPECT_LT(t.of(proc(3, false, -1)), 0);  // another host, unknown
  EXPECT_GE(t.of(proc(4, true, -1)), 0);  // this host: the kernel's load average
}

}  // namespace
