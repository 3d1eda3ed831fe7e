// `weft cpu` against a real weftd and a real attached program
// (tests/tools/cpu_prog.cpp, which spins in cpu_prog_spin_here): the file
// it writes is read by the real `go tool pprof` (Debian's golang-go), whose
// -top puts the spinning function first; a second profile of the same
// process while one runs is refused; a bad duration is refused with the
// range to use; -o with several selectors is a usage error.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "remote/weftd_fixture.hpp"
#include "weft_cli_util.hpp"
#include "weft_test_util.hpp"

#if !defined(WEFT_TEST_WEFT) || !defined(WEFT_TEST_CPU_PROG)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT and WEFT_TEST_CPU_PROG for this test"
#endif

namespace {

using namespace std::chrono_literals;
using weft_test::command;
using weft_test::pid_selector;

class WeftCpu : public weft_test::weftd_test {
 protected:
  void SetUp() override {
    weftd_test::SetUp();
    dir_ = "/tmp/weft-cpu-test-" + std::to_string(::getpid()) + "-" + std::to_string(n_++);
    ::mkdir(dir_.c_str(), 0700);
  }
  void TearDown() override {
    std::system(("rm -rf " + dir_).c_str());
    weftd_test::TearDown();
  }
  // Started, not waited for.
  std::unique_ptr<command> weft(std::vector<std::string> args) {
    return weft_test::start_weft(WEFT_TEST_WEFT, std::move(args), address());
  }
  // cpu_prog attached to the fixture's weftd, once weft ps lists it.
  std::unique_ptr<command> program() {
    return weft_test::start_listed(WEFT_TEST_WEFT, {WEFT_TEST_CPU_PROG}, address(), 20s);
  }

  std::string dir_;
  static inline int n_ = 0;
};

TEST_F(WeftCpu, GoToolPprofPutsTheSpinningFunctionOnTop) {
  if (::access("/usr/bin/go", X_OK) != 0)
    FAIL() << "go is missing: install Debian's golang-go (scripts/deps.sh does) to read the profile with go tool pprof";
  auto p = program();
  const std::string file = dir_ + "/p.pb.gz";
  auto cpu = weft({"cpu", pid_selector(*p), "--seconds", "2", "-o", file});
  ASSERT_EQ(cpu->wait(30s), 0) << cpu->err();
  EXPECT_NE(cpu->err().find("weft cpu: profiling " + pid_selector(*p) + " for 2 s..."), std::string::npos)
      << cpu->err();
  EXPECT_NE(cpu->err().find("go tool pprof -top " + file), std::string::npos) << cpu->err();
  EXPECT_EQ(cpu->out(), file + "\n");

  // go tool pprof, offline: its caches in the test's directory, no network.
  command pprof({"/usr/bin/go", "tool", "pprof", "-top", file},
                {"HOME=" + dir_, "GOCACHE=" + dir_ + "/gocache", "GOPATH=" + dir_ + "/gopath",
                 "GOPROXY=off", "GOTOOLCHAIN=local", "PPROF_TMPDIR=" + dir_});
  ASSERT_EQ(pprof.wait(60s), 0) << pprof.err();
  // The table's first row: "flat flat% sum% cum cum% name".
  std::istringstream lines(pprof.out());
  std::string line, first_row;
  bool header = false;
  while (std::getline(lines, line)) {
    if (header) {
      first_row = line;
      break;
    }
    header = line.find("flat%") != std::string::npos;
  }
  EXPECT_NE(first_row.find("cpu_prog_spin_here"), std::string::npos) << pprof.out() << pprof.err();
}

TEST_F(WeftCpu, ASecondProfileWhileOneRunsIsRefused) {
  auto p = program();
  auto first = weft({"cpu", pid_selector(*p), "--seconds", "3", "-o", dir_ + "/a.pb.gz"});
  std::this_thread::sleep_for(1s);  // the first one is recording
  auto second = weft({"cpu", pid_selector(*p), "--seconds", "1", "-o", dir_ + "/b.pb.gz"});
  EXPECT_EQ(second->wait(20s), 1) << second->err();
  EXPECT_NE(second->err().find("a CPU profile is already running"), std::string::npos) << second->err();
  EXPECT_EQ(first->wait(30s), 0) << first->err();
}

TEST_F(WeftCpu, ABadDurationIsRefusedWithTheRange) {
  auto p = program();
  for (const char* seconds : {"0", "900"}) {
    auto cpu = weft({"cpu", pid_selector(*p), "--seconds", seconds, "-o", dir_ + "/x.pb.gz"});
    EXPECT_EQ(cpu->wait(20s), 1) << cpu->err();
    EXPECT_NE(cpu->err().find("ask for 1 ms to 10 min"), std::string::npos) << cpu->err();
  }
}

TEST_F(WeftCpu, OutputWithSeveralSelectorsIsAUsageError) {
  auto cpu = weft({"cpu", "pid:1", "pid:2", "-o", dir_ + "/x.pb.gz"});
  EXPECT_EQ(cpu->wait(20s), 2) << cpu->err();
  EXPECT_NE(cpu->err().find("-o names one file"), std::string::npos) << cpu->err();
  auto help = weft({"cpu", "--help"});
  EXPECT_EQ(help->wait(20s), 0);
  EXPECT_NE(help->out().find("go tool pprof -top"), std::string::npos) << help->out();
}

}  // namespace
