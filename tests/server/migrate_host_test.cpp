// src/server/migrate_host: the coordinators' events, driven on recorders
// (no real processes). A process's end is told only to the coordinators
// whose move involves it (its owner or its target): a burst of unrelated
// ends while many moves are under way disturbs none of them, where telling
// every coordinator filled their 8-event channels and lost the target's
// answer (the move then waited forever).
#include "server/migrate_host.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/server_testing.hpp"

namespace {

using namespace server_testing;
using weft::server::migrate_host;

v1::ProcessInfo process_info(std::int64_t pid) {
  v1::ProcessInfo p;
  p.set_pid(pid);
  p.set_binary_path("/bin/prog");
  return p;
}

// The moves' requests, as a tool's session would make them.
constexpr std::uint64_t tool_process = 9999;

TEST(MigrateHost, UnrelatedProcessesEndingDisturbNoMoveUnderWay) {
  weft::run(
      [] {
        std::vector<std::string> log;
        migrate_host h(migrate_host::limits{}, [&](std::string_view l) { log.emplace_back(l); });
        constexpr int moves = 12;  // more than a coordinator's 8 events
        constexpr int unrelated = 12;
        constexpr std::uint64_t target = 100;
        recorder owners[moves], target_stub, bystanders[unrelated], tool;
        std::vector<std::string> ids;
        for (int i = 0; i < moves; ++i) {
          v1::MigrateBegin b;
          b.set_function("f");
          b.set_signature("i64");
          h.begin(owners[i], i + 1, process_info(i + 1), "unix", 1, b);
          ids.push_back(owners[i].one().migrate_ticket().goroutine());
        }
        h.accept(target_stub, target, process_info(target), "unix", 1);
        EXPECT_TRUE(target_stub.one().has_ok());
        for (int i = 0; i < unrelated; ++i) {  // processes that run goroutines of their own
          v1::MigrateBegin b;
          b.set_function("g");
          b.set_signature("i64");
          h.begin(bystanders[i], 200 + i, process_info(200 + i), "unix", 1, b);
          bystanders[i].take();
        }
        for (int i = 0; i < moves; ++i) {
          v1::Migrate m;
          m.add_goroutine(ids[i]);
          m.set_to("pid:" + std::to_string(target));
          h.request(tool, tool_process, i + 1, m);
        }
        weft::this_goroutine::sleep_for(50ms);  // each coordinator asked its owner to stop
        std::vector<std::uint64_t> tickets;
        for (int i = 0; i < moves; ++i) {
          frame out = owners[i].one();
          ASSERT_TRUE(out.has_migrate_out()) << out.ShortDebugString();
          tickets.push_back(out.migrate_out().ticket());
          v1::MigrateState st;
          st.set_goroutine(ids[i]);
          st.set_epoch(1);
          st.set_ticket(out.migrate_out().ticket());
          st.set_state("s");
          st.set_total(1);
          h.state(i + 1, st);
        }
        weft::this_goroutine::sleep_for(50ms);  // each state went on to the target
        EXPECT_EQ(target_stub.take().size(), static_cast<std::size_t>(moves));
        // A burst of ends (none of them an owner or the target), then the
        // target's answers, with no coordinator running in between.
        for (int i = 0; i < unrelated; ++i) h.detach(200 + i);
        for (int i = 0; i < moves; ++i) {
          v1::MigrateInResult r;
          r.set_goroutine(ids[i]);
          r.set_epoch(2);
          r.set_ticket(tickets[i]);
          h.in_result(target, r);
        }
        std::vector<frame> reports;
        for (int i = 0; i < 100 && reports.size() < static_cast<std::size_t>(moves); ++i) {
          weft::this_goroutine::sleep_for(20ms);
          for (frame& f : tool.take()) reports.push_back(std::move(f));
        }
        ASSERT_EQ(reports.size(), static_cast<std::size_t>(moves)) << "moves still waiting 2 s after their answer";
        for (const frame& f : reports) {
          ASSERT_TRUE(f.has_migrate_report()) << f.ShortDebugString();
          ASSERT_EQ(f.migrate_report().moves_size(), 1);
          const auto& mv = f.migrate_report().moves(0);
          EXPECT_EQ(mv.to_pid(), static_cast<std::int64_t>(target)) << mv.ShortDebugString();
          EXPECT_EQ(mv.error(), "");
          EXPECT_EQ(mv.epoch(), 2u);
        }
        for (int i = 0; i < moves; ++i) {  // each old owner was told it moved, never to resume
          frame v = owners[i].one();
          ASSERT_TRUE(v.has_migrate_verdict()) << v.ShortDebugString();
          EXPECT_TRUE(v.migrate_verdict().moved());
        }
      },
      weft::options{.procs = 1});
}

}  // namespace
