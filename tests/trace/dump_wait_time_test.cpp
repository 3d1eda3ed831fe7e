// tests/trace/dump_wait_time_test.cpp: a dump says how long each parked
// goroutine has waited (Go's "[chan receive, 2 minutes]"). Parks stamp the
// time sysmon last read (sched.sysmon_clock) rather than reading a clock:
// the stamp must stay right when sysmon has backed off or slept deeply
// while every P was idle, and a goroutine that just parked must not be
// shown as waiting long.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>

#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;

std::string dump() {
  std::ostringstream out;
  weft::dump_goroutines(out);
  return out.str();
}

TEST(DumpWaitTime, AGoroutineParkedForASecondAndAHalfIsShownWaitingOneSecond) {
  std::string text;
  weft::run([&] {
    weft::chan<int> c;
    weft::go(weft::go_options{.name = "waiter"}, [c]() mutable { c.recv(); });
    // Quiet for long enough that sysmon backs off, then sleeps deeply
    // (every P idle) before and during the wait.
    weft::this_goroutine::sleep_for(1500ms);
    text = dump();
    c.close();
  }, weft::options{.procs = 2});
  EXPECT_NE(text.find("chan receive, 1 s"), std::string::npos) << text;
}

TEST(DumpWaitTime, AGoroutineThatParksAfterALongQuietIsNotShownWaitingLong) {
  std::string text;
  weft::run([&] {
    // Every P idle for a second and a half: sysmon sleeps deeply, and its
    // clock would be that old if nothing refreshed it on the wake-up.
    weft::this_goroutine::sleep_for(1500ms);
    weft::chan<int> c;
    weft::go(weft::go_options{.name = "fresh"}, [c]() mutable { c.recv(); });
    weft::this_goroutine::sleep_for(50ms);
    text = dump();
    c.close();
  }, weft::options{.procs = 2});
  auto at = text.find("\"fresh\"");
  ASSERT_NE(at, std::string::npos) << text;
  std::string line = text.substr(text.rfind('\n', at) + 1, text.find('\n', at) - text.rfind('\n', at) - 1);
  // Waited ~50 ms: the dump may say so ("50 ms", from 10 ms up) or less;
  // a stamp from before the quiet would say 500 ms or more.
  EXPECT_EQ(line.find(" s]"), std::string::npos) << line;
  EXPECT_EQ(line.find("minutes"), std::string::npos) << line;
  if (auto ms = line.find(" ms]"); ms != std::string::npos) {
    auto comma = line.rfind(", ", ms);
    ASSERT_NE(comma, std::string::npos) << line;
    EXPECT_LT(std::stol(line.substr(comma + 2, ms - comma - 2)), 300) << line;
  }
}

}  // namespace
