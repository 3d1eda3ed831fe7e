// tools/weft's control subcommands against a real weftd and real attached
// programs (tests/tools/control_prog.cpp): weft ps lists a program by pid,
// weft stk shows its named goroutines where they park, weft peek gives its
// counters, weft kill ends it with the status asked for; and the failures:
// an unknown pid, a selector that is none, an anchor with no worker, no weftd, a program that
// dies mid-request, a program that does not answer in time. Each failure
// is an exit status and a message, never a hang.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdlib>
#include <string>

#include "remote/weftd_fixture.hpp"
#include "weft_cli_util.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_CONTROL_PROG)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT and WEFT_TEST_CONTROL_PROG for this test"
#endif

namespace {

using namespace std::chrono_literals;
using weft_test::command;
using weft_test::pid_selector;

class WeftControl : public weft_test::weftd_test {
 protected:
  // Runs `weft ARGS... --runtime ADDR` to its end (20 s at most).
  std::unique_ptr<command> weft(std::vector<std::string> args, bool with_runtime = true) {
    return weft_test::run_weft(WEFT_TEST_WEFT, std::move(args), with_runtime ? address() : "", 20s);
  }
  // Starts control_prog attached to the fixture's weftd; waits until weft ps
  // lists it.
  std::unique_ptr<command> program(int goroutines = 3) {
    return weft_test::start_listed(WEFT_TEST_WEFT, {WEFT_TEST_CONTROL_PROG, std::to_string(goroutines)}, address(),
                                   20s);
  }
};

TEST_F(WeftControl, PsListsAnAttachedProgramByPid) {
  auto p = program();
  auto table = weft({"ps"});
  EXPECT_EQ(table->wait(), 0) << table->err();
  EXPECT_NE(table->out().find("PID"), std::string::npos) << table->out();
  // Its line: the pid first, the command last.
  const std::string out = table->out();
  std::size_t at = out.find("\n" + std::to_string(p->pid()) + " ");
  ASSERT_NE(at, std::string::npos) << out;
  std::string line = out.substr(at + 1, out.find('\n', at + 1) - at - 1);
  EXPECT_NE(line.find("control_prog 3"), std::string::npos) << line;
  // WEFT_RUNTIME names the weftd when --runtime does not.
  command env({WEFT_TEST_WEFT, "ps", "--json"}, {"WEFT_RUNTIME=" + address()});
  EXPECT_EQ(env.wait(20s), 0) << env.err();
  EXPECT_NE(env.out().find("\"pid\":" + std::to_string(p->pid()) + ","), std::string::npos) << env.out();
  EXPECT_NE(env.out().find("\"argv\":[\"" WEFT_TEST_CONTROL_PROG "\",\"3\"]"), std::string::npos) << env.out();
}

TEST_F(WeftControl, StkShowsTheNamedGoroutinesWhereTheyPark) {
  auto p = program(3);
  auto q = program(1);
  auto stk = weft({"stk", pid_selector(*p), pid_selector(*q)});
  EXPECT_EQ(stk->wait(), 0) << stk->err();
  const std::string out = stk->out();
  std::size_t first = out.find("== " + pid_selector(*p) + " ==");
  std::size_t second = out.find("== " + pid_selector(*q) + " ==");
  ASSERT_NE(first, std::string::npos) << out;
  ASSERT_NE(second, std::string::npos) << out;
  const std::string mine = out.substr(first, second - first);
  for (const char* needle : {"parked-worker-0", "parked-worker-2", "control_prog_parked_here", "chan receive"})
    EXPECT_NE(mine.find(needle), std::string::npos) << needle << " not in:\n" << mine;
  EXPECT_EQ(out.substr(second).find("parked-worker-2"), std::string::npos);  // q has one worker
  EXPECT_NE(out.substr(second).find("parked-worker-0"), std::string::npos);
}

// A program's bytes that are not UTF-8 (an argument, a goroutine's name)
// cross in bytes fields or as text made UTF-8: proto3 strings must be
// UTF-8, and a frame with one that is not would not parse at weftd, which
// then closed the program's connection (the program ended) or refused it
// at the handshake.
TEST_F(WeftControl, ArgumentsAndNamesThatAreNotUtf8NeitherStopTheProgramNorItsTools) {
  auto p = weft_test::start_listed(WEFT_TEST_WEFT, {WEFT_TEST_CONTROL_PROG, "2", "caf\xe9"}, address(), 20s);
  auto stk = weft({"stk", pid_selector(*p)});
  EXPECT_EQ(stk->wait(), 0) << stk->err();
  EXPECT_NE(stk->out().find("caf?-1"), std::string::npos) << stk->out();
  EXPECT_NE(stk->out().find("control_prog_parked_here"), std::string::npos) << stk->out();
  auto ps = weft({"ps", "--json"});
  EXPECT_EQ(ps->wait(), 0) << ps->err();
  // Its argv as it was (JSON shows the byte as U+FFFD), and it still runs.
  EXPECT_NE(ps->out().find("\"argv\":[\"" WEFT_TEST_CONTROL_PROG "\",\"2\",\"caf\xef\xbf\xbd\"]"), std::string::npos)
      << ps->out();
  EXPECT_EQ(p->wait(200ms), -1) << "it ended: " << p->err();
}

TEST_F(WeftControl, PeekGivesThePidAndTheGoroutines) {
  auto p = program(5);
  auto peek = weft({"peek", pid_selector(*p)});
  EXPECT_EQ(peek->wait(), 0) << peek->err();
  const std::string out = peek->out();
  EXPECT_NE(out.find("{\"pid\":" + std::to_string(p->pid()) + ","), std::string::npos) << out;
  std::size_t at = out.find("\"goroutines\":");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_GE(std::atoi(out.c_str() + at + 13), 6) << out;  // main and 5 workers, at least
  for (const char* key : {"\"uptime_s\":", "\"procs\":", "\"threads\":", "\"rss_bytes\":"})
    EXPECT_NE(out.find(key), std::string::npos) << key << " not in " << out;
}

TEST_F(WeftControl, PeekGoroutinesStartsInstrumentationAndListsTheBusiest) {
  auto p = program(2);
  auto first = weft({"peek", "--goroutines", pid_selector(*p)});
  EXPECT_EQ(first->wait(), 0) << first->err();
  EXPECT_NE(first->out().find("\"instrumenting\":true,\"started_now\":true"), std::string::npos) << first->out();
  std::this_thread::sleep_for(600ms);  // the stub's heartbeat runs meanwhile
  auto second = weft({"peek", "--goroutines", "--top", "50", pid_selector(*p)});
  EXPECT_EQ(second->wait(), 0) << second->err();
  const std::string out = second->out();
  EXPECT_NE(out.find("\"started_now\":false"), std::string::npos) << "counting goes on: " << out;
  for (const char* key : {"\"total\":{\"running_ms\":", "\"blocked_by\":[", "\"listed\":["})
    EXPECT_NE(out.find(key), std::string::npos) << key << " not in " << out;
  // The heartbeat ran and slept since the first ask: it is listed, blocked
  // in its sleep most of the time.
  std::size_t hb = out.find("\"name\":\"weft: runtime stub heartbeat\"");
  ASSERT_NE(hb, std::string::npos) << out;
  EXPECT_NE(out.find("\"reason\":\"sleep\"", hb), std::string::npos) << out.substr(hb);
  auto off = weft({"kill", pid_selector(*p), "--code", "0"});
  EXPECT_EQ(off->wait(), 0) << off->err();
}

TEST_F(WeftControl, KillEndsTheProgramWithTheStatusAsked) {
  auto p = program();
  auto kill = weft({"kill", pid_selector(*p), "--code", "7"});
  EXPECT_EQ(kill->wait(), 0) << kill->err();
  EXPECT_NE(kill->out().find("exits with status 7"), std::string::npos) << kill->out();
  EXPECT_EQ(p->wait(5s), 7) << p->err();
  // weftd no longer lists it.
  const std::string needle = "\"pid\":" + std::to_string(p->pid()) + ",";
  std::string listed;
  for (int i = 0; i < 100; ++i) {
    listed = weft({"ps", "--json"})->out();
    if (listed.find(needle) == std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(listed.find(needle), std::string::npos) << listed;
}

TEST_F(WeftControl, AnUnknownPidFailsNamingIt) {
  auto p = program();
  auto stk = weft({"stk", "pid:999999999", pid_selector(*p)});
  EXPECT_EQ(stk->wait(), 1);
  EXPECT_NE(stk->err().find("weft stk: pid:999999999: no process with pid 999999999 is attached"), std::string::npos)
      << stk->err();
  EXPECT_NE(stk->err().find("attached: pid " + std::to_string(p->pid())), std::string::npos) << stk->err();
  EXPECT_NE(stk->out().find("parked-worker-0"), std::string::npos) << "the good target is still dumped";
}

TEST_F(WeftControl, BadSelectorsAreUsageErrorsAndAnEmptyAnchorAFailure) {
  auto anchor = weft({"stk", "/db/..."});
  EXPECT_EQ(anchor->wait(), 1);
  EXPECT_NE(anchor->err().find("weft stk: /db/...: no live worker there"), std::string::npos) << anchor->err();
  auto word = weft({"peek", "db"});
  EXPECT_EQ(word->wait(), 2);
  EXPECT_NE(word->err().find("weft peek: db is not a selector"), std::string::npos) << word->err();
  auto bad = weft({"kill", "pid:x"});
  EXPECT_EQ(bad->wait(), 2);
  EXPECT_NE(bad->err().find("write pid:N"), std::string::npos) << bad->err();
  auto none = weft({"peek"});
  EXPECT_EQ(none->wait(), 2);
  auto latin1 = weft({"stk", "/db/caf\xe9"});  // would not cross the protocol: said before it is sent
  EXPECT_EQ(latin1->wait(), 2);
  EXPECT_NE(latin1->err().find("weft stk: anchor path \"/db/caf\\xe9\" is not UTF-8"), std::string::npos)
      << latin1->err();
  auto bad_runtime = weft({"ps", "--runtime", "nowhere"}, false);
  EXPECT_EQ(bad_runtime->wait(), 2);
  EXPECT_NE(bad_runtime->err().find("weft ps: runtime server address 'nowhere' has no network"), std::string::npos)
      << bad_runtime->err();
  auto help = weft({"kill", "--help"}, false);
  EXPECT_EQ(help->wait(), 0);
  EXPECT_NE(help->out().find("weft kill pid:4242 --code 7"), std::string::npos) << help->out();
}

TEST_F(WeftControl, NoWeftdSaysHowToGetOne) {
  const std::string nowhere = "unix:/tmp/weft-test-no-such-" + std::to_string(::getpid()) + ".sock";
  auto ps = weft({"ps", "--runtime", nowhere}, false);
  EXPECT_EQ(ps->wait(), 1);
  EXPECT_NE(ps->err().find("weft ps: no weftd at " + nowhere + ": "), std::string::npos) << ps->err();
  EXPECT_NE(ps->err().find("start one with weftd or set WEFT_RUNTIME"), std::string::npos) << ps->err();
}

TEST_F(WeftControl, AProgramThatDiesMidRequestIsAnErrorNotAHang) {
  auto p = program();
  ::kill(p->pid(), SIGSTOP);  // it cannot answer
  command stk({WEFT_TEST_WEFT, "stk", pid_selector(*p), "--runtime", address()});
  std::this_thread::sleep_for(500ms);  // the request reaches weftd and waits
  ::kill(p->pid(), SIGKILL);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(stk.wait(10s), 1) << stk.err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_NE(stk.err().find("detached before answering DUMP_GOROUTINES"), std::string::npos) << stk.err();
}

TEST_F(WeftControl, AProgramThatDoesNotAnswerTimesOut) {
  auto p = program();
  ::kill(p->pid(), SIGSTOP);
  auto start = std::chrono::steady_clock::now();
  auto peek = weft({"peek", pid_selector(*p)});
  EXPECT_EQ(peek->wait(), 1) << peek->err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
  EXPECT_NE(peek->err().find("did not answer STATS within 5 s"), std::string::npos) << peek->err();
  ::kill(p->pid(), SIGKILL);
}

}  // namespace
