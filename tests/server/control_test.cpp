// src/server/control (through real sessions and sockets): a tool lists the
// attached stubs, its Control reaches the stub it names under a server id
// and the stub's answer comes back under the tool's; a stub may not send
// Control; an unknown pid, a stub that detaches before answering, and one
// that does not answer in time each end the tool's request with an Error
// that says so; an answer to a request never sent breaks the protocol.
#include <gtest/gtest.h>

#include <algorithm>

#include "server/server_testing.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace server_testing;

frame control(v1::Control::Action a, std::int64_t pid = 0) {
  frame f;
  f.mutable_control()->set_action(a);
  f.mutable_control()->set_pid(pid);
  return f;
}

template <class F>
void in_runtime(F f) {
  weft_test::watchdog dog(std::chrono::seconds(60), "control test");
  weft::run(std::move(f), weft_test::procs_opt(2));
}

TEST(Control, ToolListsStubsAndItsDumpRequestIsRelayed) {
  in_runtime([] {
    served s;
    test_client stub(s.endpoint), tool(s.endpoint);
    std::optional<frame> w = stub.handshake(stub_hello(4242));
    ASSERT_TRUE(w && w->has_welcome());
    std::vector<std::string> caps(w->welcome().capabilities().begin(), w->welcome().capabilities().end());
    EXPECT_NE(std::find(caps.begin(), caps.end(), "control"), caps.end());
    ASSERT_TRUE(tool.handshake());
    wait_listed(tool, 1);
    std::optional<frame> list = tool.call(control(v1::Control::LIST));
    ASSERT_TRUE(list && list->has_control_reply());
    const v1::ProcessEntry& e = list->control_reply().processes(0);
    EXPECT_EQ(e.process().pid(), 4242);
    EXPECT_EQ(e.process_id(), w->welcome().process_id());
    EXPECT_EQ(e.process().argv_size(), 2);
    EXPECT_GT(e.attached_unix_ms(), 0);

    frame dump = control(v1::Control::DUMP_GOROUTINES, 4242);
    dump.set_id(77);
    tool.send(dump);
    std::optional<frame> fwd = stub.next();
    ASSERT_TRUE(fwd && fwd->has_control()) << (fwd ? fwd->ShortDebugString() : "nothing");
    EXPECT_NE(fwd->id(), 0u);
    EXPECT_EQ(fwd->control().action(), v1::Control::DUMP_GOROUTINES);
    EXPECT_EQ(fwd->control().pid(), 0);  // the target is not passed on
    frame answer;
    answer.set_id(fwd->id());
    answer.mutable_control_reply()->set_text("goroutine 1 [running]:\n");
    stub.send(answer);
    std::optional<frame> got = tool.next();
    ASSERT_TRUE(got && got->has_control_reply()) << (got ? got->ShortDebugString() : "nothing");
    EXPECT_EQ(got->id(), 77u);
    EXPECT_EQ(got->control_reply().text(), "goroutine 1 [running]:\n");

    // The stub's own Error answer is relayed too, naming the process.
    frame stats = control(v1::Control::STATS, 4242);
    stats.set_id(tool.next_id());
    tool.send(stats);
    fwd = stub.next();
    ASSERT_TRUE(fwd && fwd->has_control());
    stub.send(weft::server::error_frame(fwd->id(), v1::Error::REFUSED, "no such action"));
    expect_error(tool.next(), v1::Error::REFUSED, "pid 4242: no such action");
  });
}

TEST(Control, AStubMayNotSendControl) {
  in_runtime([] {
    served s;
    test_client stub(s.endpoint);
    ASSERT_TRUE(stub.handshake(stub_hello(1)));
    expect_error(stub.call(control(v1::Control::LIST)), v1::Error::REFUSED, "only a TOOL client may send Control");
    expect_error(stub.call(control(v1::Control::EXIT, 1)), v1::Error::REFUSED, "role STUB");
  });
}

TEST(Control, AnUnknownPidIsNamedWithTheOnesThatExist) {
  in_runtime([] {
    served s;
    test_client stub(s.endpoint), tool(s.endpoint);
    ASSERT_TRUE(stub.handshake(stub_hello(4242)));
    ASSERT_TRUE(tool.handshake());
    wait_listed(tool, 1);
    std::optional<frame> r = tool.call(control(v1::Control::DUMP_GOROUTINES, 7));
    expect_error(r, v1::Error::NOT_FOUND, "no process with pid 7 is attached to this weftd (attached: pid 4242");
    expect_error(r, v1::Error::NOT_FOUND, "weft ps lists them");
    expect_error(tool.call(control(v1::Control::STATS)), v1::Error::REFUSED, "names no process");
  });
}

TEST(Control, AStubThatDetachesBeforeAnsweringEndsTheRequest) {
  in_runtime([] {
    served s;
    auto stub = std::make_unique<test_client>(s.endpoint);
    test_client tool(s.endpoint);
    ASSERT_TRUE(stub->handshake(stub_hello(99)));
    ASSERT_TRUE(tool.handshake());
    wait_listed(tool, 1);
    frame dump = control(v1::Control::DUMP_GOROUTINES, 99);
    dump.set_id(5);
    tool.send(dump);
    std::optional<frame> fwd = stub->next();
    ASSERT_TRUE(fwd && fwd->has_control());
    stub.reset();  // gone without answering
    std::optional<frame> r = tool.next(std::chrono::seconds(3));
    expect_error(r, v1::Error::NOT_FOUND, "pid 99 detached before answering DUMP_GOROUTINES");
    EXPECT_EQ(r->id(), 5u);
    wait_listed(tool, 0);
  });
}

TEST(Control, AStubThatDoesNotAnswerInTimeGivesTimeout) {
  in_runtime([] {
    served s(std::chrono::seconds(5), [](weft::server::state_options& o) { o.control_limits.timeout = 300ms; });
    test_client stub(s.endpoint), tool(s.endpoint);
    ASSERT_TRUE(stub.handshake(stub_hello(5)));
    ASSERT_TRUE(tool.handshake());
    wait_listed(tool, 1);
    auto start = std::chrono::steady_clock::now();
    std::optional<frame> r = tool.call(control(v1::Control::STATS, 5));
    expect_error(r, v1::Error::TIMEOUT, "pid 5 did not answer STATS within 300 ms");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    // The late answer is dropped, not a protocol error: the stub stays.
    std::optional<frame> fwd = stub.next();
    ASSERT_TRUE(fwd && fwd->has_control());
    frame late;
    late.set_id(fwd->id());
    late.mutable_control_reply()->set_text("{}");
    stub.send(late);
    weft::this_goroutine::sleep_for(100ms);
    wait_listed(tool, 1);
    EXPECT_FALSE(tool.next(100ms));  // nothing more for the tool
  });
}

// TRACE: a duration outside 1 ms to 10 minutes is refused here; one
// inside is passed on, the stub's data relayed, and the deadline is the
// timeout plus the duration plus the trace's build time.
TEST(Control, TraceDurationIsCheckedAndWaitedFor) {
  in_runtime([] {
    served s(std::chrono::seconds(5), [](weft::server::state_options& o) {
      o.control_limits.timeout = 300ms;
      o.control_limits.trace_build = 500ms;
    });
    test_client stub(s.endpoint), tool(s.endpoint);
    ASSERT_TRUE(stub.handshake(stub_hello(6)));
    ASSERT_TRUE(tool.handshake());
    wait_listed(tool, 1);
    auto trace = [](std::int64_t ms) {
      frame f = control(v1::Control::TRACE, 6);
      f.mutable_control()->set_duration_ms(ms);
      return f;
    };
    expect_error(tool.call(trace(0)), v1::Error::REFUSED, "TRACE duration_ms 0 is not between 1 and 600000");
    expect_error(tool.call(trace(600'001)), v1::Error::REFUSED, "TRACE duration_ms 600001 is not between 1 and 600000");

    frame ok = trace(50);
    ok.set_id(tool.next_id());
    tool.send(ok);
    std::optional<frame> fwd = stub.next();
    ASSERT_TRUE(fwd && fwd->has_control());
    EXPECT_EQ(fwd->control().action(), v1::Control::TRACE);
    EXPECT_EQ(fwd->control().duration_ms(), 50);
    frame answer;
    answer.set_id(fwd->id());
    answer.mutable_control_reply()->set_text("summary");
    answer.mutable_control_reply()->set_data("{\"traceEvents\":[]}");
    stub.send(answer);
    std::optional<frame> got = tool.next();
    ASSERT_TRUE(got && got->has_control_reply()) << (got ? got->ShortDebugString() : "nothing");
    EXPECT_EQ(got->control_reply().data(), "{\"traceEvents\":[]}");

    // Unanswered: TIMEOUT after 300 ms + 700 ms + 500 ms, not after 300 ms.
    auto start = std::chrono::steady_clock::now();
    std::optional<frame> r = tool.call(trace(700));
    expect_error(r, v1::Error::TIMEOUT, "pid 6 did not answer TRACE within 1500 ms");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 1450ms);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  });
}

TEST(Control, AnAnswerToARequestNeverSentBreaksTheProtocol) {
  in_runtime([] {
    served s;
    test_client stub(s.endpoint);
    ASSERT_TRUE(stub.handshake(stub_hello(3)));
    frame bogus;
    bogus.set_id(99);
    bogus.mutable_control_reply()->set_text("x");
    stub.send(bogus);
    expect_error(stub.next(), v1::Error::PROTOCOL, "ControlReply for request 99, but this server sent no such request");
    EXPECT_FALSE(stub.next(3s));
    EXPECT_FALSE(stub.timed_out());
  });
}

}  // namespace
