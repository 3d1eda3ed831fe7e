// Goroutine migration between real processes (weft/migrate.hpp,
// server/migrate_host.hpp): three processes of one binary attached to a
// real weftd, a fourth feeding the remote channel the migratable goroutine
// consumes, and the real `weft migrate`. The guarantees the tests check:
// no value lost or taken twice across 100 moves (the sum and count are
// exact), the goroutine restarts once per move and nowhere else, a move
// to nowhere or to a target that stops answering leaves it running where
// it was, and every failure is a message and an exit status.
#include <gtest/gtest.h>

#include <signal.h>

#include <string>
#include <thread>

#include "remote/weftd_fixture.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_MIGRATE_PROG)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT and WEFT_TEST_MIGRATE_PROG for this test"
#endif

namespace {

using namespace std::chrono_literals;
using weft_test::command;

class Migrate : public weft_test::weftd_test {
 protected:
  std::vector<std::string> env() { return {"WEFT_RUNTIME=" + address()}; }
  std::unique_ptr<command> prog(std::vector<std::string> args) {
    args.insert(args.begin(), WEFT_TEST_MIGRATE_PROG);
    return std::make_unique<command>(args, env());
  }
  // Runs `weft ARGS... --runtime ADDR` to its end.
  std::unique_ptr<command> weft(std::vector<std::string> args) {
    args.insert(args.begin(), WEFT_TEST_WEFT);
    args.push_back("--runtime");
    args.push_back(address());
    auto c = std::make_unique<command>(args);
    EXPECT_GE(c->wait(60s), 0) << "weft " << args[1] << " did not end within 60 s";
    return c;
  }
  long get(const std::string& name) {
    auto c = prog({"get", name});
    EXPECT_EQ(c->wait(20s), 0) << c->err();
    return std::atol(c->out().c_str());
  }
  void set(const std::string& name, long v) {
    auto c = prog({"set", name, std::to_string(v)});
    EXPECT_EQ(c->wait(20s), 0) << c->err();
  }
  // The first line a program printed (its id, or "ready"), within 10 s.
  static std::string first_line(const command& c) {
    for (int i = 0; i < 1000; ++i) {
      std::string out = c.out();
      if (out.find('\n') != std::string::npos) return out.substr(0, out.find('\n'));
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "no line from pid " << c.pid() << "; its stderr: " << c.err();
    return {};
  }
  // Ends the feeder, waits for the consumer's results, stops everyone.
  void finish(command& feeder) {
    set("feed.stop", 1);
    EXPECT_EQ(feeder.wait(20s), 0) << feeder.err();
    for (int i = 0; i < 1000 && get("result.done") == 0; ++i) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(get("result.done"), 1) << "the consumer never finished";
    set("stop", 1);
  }
};

TEST_F(Migrate, HundredMovesBetweenThreeProcessesLoseNoValue) {
  auto a = prog({"consumer"});
  auto b = prog({"host"});
  auto c = prog({"host"});
  const std::string id_line = first_line(*a);
  ASSERT_EQ(id_line.substr(0, 4), "id M") << id_line;
  const std::string id = id_line.substr(3);
  ASSERT_EQ(first_line(*b), "ready");
  ASSERT_EQ(first_line(*c), "ready");
  auto feeder = prog({"feeder"});
  const pid_t ring[3] = {b->pid(), c->pid(), a->pid()};
  for (int i = 0; i < 100; ++i) {
    auto m = weft({"migrate", id, "--to", "pid:" + std::to_string(ring[i % 3])});
    ASSERT_EQ(m->wait(), 0) << "move " << i << ": " << m->err() << m->out();
    EXPECT_NE(m->out().find("-> pid " + std::to_string(ring[i % 3])), std::string::npos) << m->out();
  }
  auto list = weft({"migrate", "--list", "--json"});
  EXPECT_EQ(list->wait(), 0) << list->err();
  EXPECT_NE(list->out().find("\"moves\":100"), std::string::npos) << list->out();
  EXPECT_NE(list->out().find("\"epoch\":101"), std::string::npos) << list->out();
  finish(*feeder);
  const long count = get("feed.count");
  EXPECT_GT(count, 0);
  EXPECT_EQ(get("result.count"), count);
  EXPECT_EQ(get("result.sum"), get("feed.sum"));
  EXPECT_EQ(get("result.sum"), count * (count + 1) / 2);  // 1..count, each once
  EXPECT_EQ(get("result.starts"), 101);  // one start, then one per move
  EXPECT_EQ(get("result.hops"), 101);    // a new process every time
  for (command* p : {a.get(), b.get(), c.get()}) EXPECT_EQ(p->wait(20s), 0) << p->err();
}

TEST_F(Migrate, NoTargetLeavesTheGoroutineWhereItWas) {
  auto a = prog({"consumer"});
  const std::string id = first_line(*a).substr(3);
  auto feeder = prog({"feeder"});
  auto m = weft({"migrate", id});
  EXPECT_EQ(m->wait(), 1);
  EXPECT_NE(m->err().find("did not move: no other process accepts it"), std::string::npos) << m->err();
  auto bad = weft({"migrate", "M0123456789abcdef", "--to", "auto"});
  EXPECT_EQ(bad->wait(), 1);
  EXPECT_NE(bad->err().find("no such migratable goroutine"), std::string::npos) << bad->err();
  auto usage = weft({"migrate", "nonsense"});
  EXPECT_EQ(usage->wait(), 2);
  finish(*feeder);
  EXPECT_EQ(get("result.count"), get("feed.count"));
  EXPECT_EQ(get("result.sum"), get("feed.sum"));
  EXPECT_EQ(get("result.starts"), 1);
  EXPECT_EQ(a->wait(20s), 0) << a->err();
}

TEST_F(Migrate, ATargetThatStopsAnsweringLeavesItRunningAtTheSource) {
  auto a = prog({"consumer"});
  auto b = prog({"host"});
  const std::string id = first_line(*a).substr(3);
  ASSERT_EQ(first_line(*b), "ready");
  auto feeder = prog({"feeder"});
  ASSERT_EQ(::kill(b->pid(), SIGSTOP), 0);
  auto m = weft({"migrate", id, "--to", "pid:" + std::to_string(b->pid())});
  EXPECT_EQ(m->wait(), 1);
  EXPECT_NE(m->err().find("the target ended before it answered"), std::string::npos) << m->err();
  ::kill(b->pid(), SIGCONT);
  finish(*feeder);
  EXPECT_EQ(get("result.count"), get("feed.count"));
  EXPECT_EQ(get("result.sum"), get("feed.sum"));
  EXPECT_EQ(get("result.starts"), 1);  // it never ran anywhere else
  EXPECT_EQ(get("result.hops"), 1);
  EXPECT_EQ(a->wait(20s), 0) << a->err();
}

}  // namespace
