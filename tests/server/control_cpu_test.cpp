// src/server/control's CPU_PROFILE (through real sessions and sockets):
// weftd forwards duration_ms to the stub and waits that long beyond its
// usual timeout, relays the stub's ControlReply.data, and, when the stub
// stays silent, ends the request with TIMEOUT naming the whole wait.
#include <gtest/gtest.h>

#include "server/server_testing.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace server_testing;

frame cpu_profile(std::int64_t pid, std::int64_t duration_ms) {
  frame f;
  f.mutable_control()->set_action(v1::Control::CPU_PROFILE);
  f.mutable_control()->set_pid(pid);
  f.mutable_control()->set_duration_ms(duration_ms);
  return f;
}

TEST(ControlCpu, TheWaitIsTheTimeoutPlusTheDurationAndTheDataIsRelayed) {
  weft_test::watchdog dog(std::chrono::seconds(60), "control cpu test");
  weft::run(
      [] {
        served s(std::chrono::seconds(5), [](weft::server::state_options& o) { o.control_limits.timeout = 300ms; });
        test_client stub(s.endpoint), tool(s.endpoint);
        ASSERT_TRUE(stub.handshake(stub_hello(5)));
        ASSERT_TRUE(tool.handshake());
        wait_listed(tool, 1);

        // Answered after 600 ms: past the 300 ms timeout, within 300 + 700.
        frame req = cpu_profile(5, 700);
        req.set_id(tool.next_id());
        tool.send(req);
        std::optional<frame> fwd = stub.next();
        ASSERT_TRUE(fwd && fwd->has_control()) << (fwd ? fwd->ShortDebugString() : "nothing forwarded");
        EXPECT_EQ(fwd->control().action(), v1::Control::CPU_PROFILE);
        EXPECT_EQ(fwd->control().duration_ms(), 700);
        weft::this_goroutine::sleep_for(600ms);
        frame answer;
        answer.set_id(fwd->id());
        answer.mutable_control_reply()->set_data(std::string("\x1f\x8b profile", 10));
        stub.send(answer);
        std::optional<frame> r = tool.next();
        ASSERT_TRUE(r && r->has_control_reply()) << (r ? r->ShortDebugString() : "no reply");
        EXPECT_EQ(r->id(), req.id());
        EXPECT_EQ(r->control_reply().data(), std::string("\x1f\x8b profile", 10));

        // Never answered: TIMEOUT names the whole wait.
        auto start = std::chrono::steady_clock::now();
        std::optional<frame> late = tool.call(cpu_profile(5, 200));
        expect_error(late, v1::Error::TIMEOUT, "pid 5 did not answer CPU_PROFILE within 500 ms");
        EXPECT_GE(std::chrono::steady_clock::now() - start, 450ms);
      },
      weft_test::procs_opt(2));
}

}  // namespace
