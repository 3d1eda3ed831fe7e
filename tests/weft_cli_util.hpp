// tests/weft_cli_util.hpp: the `weft` command as the tests run it against
// a weftd (tests/remote/weftd_fixture.hpp's, or one of their own).
//
//   start_weft    `weft ARGS... --runtime ADDR` started, not waited for.
//   run_weft      the same run to its end: a test failure (never a hang)
//                 when it runs past its limit.
//   start_listed  a program attached to a weftd (WEFT_RUNTIME), returned
//                 once `weft ps --json` there lists its pid: what a test
//                 asks of it next finds it attached.
//   pid_selector  "pid:N", the selector that names one program.
//
// The path of weft is the caller's: each test gets it from its own
// WEFT_TEST_WEFT (tests/CMakeLists.txt), which this header cannot see.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "child_process.hpp"

namespace weft_test {

// An empty runtime gives no --runtime (weft then finds its weftd itself).
inline std::unique_ptr<command> start_weft(const std::string& weft, std::vector<std::string> args,
                                           const std::string& runtime) {
  args.insert(args.begin(), weft);
  if (!runtime.empty()) {
    args.push_back("--runtime");
    args.push_back(runtime);
  }
  return std::make_unique<command>(args);
}

inline std::unique_ptr<command> run_weft(const std::string& weft, std::vector<std::string> args,
                                         const std::string& runtime, std::chrono::seconds limit) {
  const std::string what = args.empty() ? "" : args.front();
  auto c = start_weft(weft, std::move(args), runtime);
  EXPECT_GE(c->wait(limit), 0) << "weft " << what << " did not end within " << limit.count() << " s";
  return c;
}

// Each `weft ps` may take ps_limit; 200 tries 50 ms apart.
inline std::unique_ptr<command> start_listed(const std::string& weft, std::vector<std::string> argv,
                                             const std::string& runtime, std::chrono::seconds ps_limit) {
  auto p = std::make_unique<command>(std::move(argv), std::vector<std::string>{"WEFT_RUNTIME=" + runtime});
  const std::string needle = "\"pid\":" + std::to_string(p->pid()) + ",";
  for (int i = 0; i < 200; ++i) {
    if (run_weft(weft, {"ps", "--json"}, runtime, ps_limit)->out().find(needle) != std::string::npos) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "weft ps never listed pid " << p->pid() << "; its stderr: " << p->err();
  return p;
}

inline std::string pid_selector(const command& p) { return "pid:" + std::to_string(p.pid()); }

}  // namespace weft_test
