// tests/wire/trace_log_test.cpp: the trace logger's file and summary
// (wire/trace_json.hpp, trace_log.hpp, trace_summary.hpp), fed
// TraceEvents as a stub would send them.
#include "wire/trace_log.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <weft/weft.hpp>

#include "wire/trace_kind.hpp"

namespace {

namespace v1 = weft::runtime::v1;
using weft::wire::json_string;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string(name) + "-" + std::to_string(::getpid()) + ".json"))
      .string();
}

void add(v1::TraceEvents& evs, std::int64_t t, std::uint32_t kind, std::uint64_t g, std::uint64_t arg = 0,
         std::string text = "") {
  v1::TraceEvent* e = evs.add_events();
  e->set_time_ns(t);
  e->set_kind(kind);
  e->set_goroutine(g);
  e->set_arg(arg);
  e->set_text(std::move(text));
}

TEST(TraceJson, StringsAreEscaped) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a \"quoted\" name"), "\"a \\\"quoted\\\" name\"");
  EXPECT_EQ(json_string("two\nlines\r\tand \\"), "\"two\\nlines\\r\\tand \\\\\"");
  EXPECT_EQ(json_string(std::string("nul\0bell\x07", 9)), "\"nul\\u0000bell\\u0007\"");
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 stays
  EXPECT_EQ(json_string("bad \xff byte"), "\"bad \xef\xbf\xbd byte\"");  // not UTF-8: U+FFFD
  EXPECT_EQ(json_string("cut \xc3"), "\"cut \xef\xbf\xbd\"");  // a sequence cut short
}

TEST(TraceJson, AnEmptyTraceIsValidJson) {
  std::string path = temp_path("weft-empty-trace");
  { weft::wire::trace_json_file f(path); }
  EXPECT_EQ(slurp(path), "{\"traceEvents\":[\n]}\n");
  std::filesystem::remove(path);
}

TEST(TraceLog, GoroutinesBlocksAndSummary) {
  std::string path = temp_path("weft-trace-log");
  std::string summary;
  weft::run([&] {
    weft::wire::trace_log log(path, [&](std::string_view s) { summary += s; });
    log.attach(7, 4242, "/usr/bin/prog");
    v1::TraceEvents evs;
    add(evs, 1'000, weft::wire::tk_go_create, 2, 1, "worker \"a\"\nb");
    add(evs, 2'000, weft::wire::tk_go_start, 2);
    add(evs, 3'000, weft::wire::tk_chan_recv, 2, 0xabc);
    add(evs, 3'500, weft::wire::tk_go_block, 2, 0, "chan receive");
    add(evs, 5'003'500, weft::wire::tk_go_unblock, 2, 1);  // 5 ms
    add(evs, 5'004'000, weft::wire::tk_go_start, 2);
    add(evs, 5'005'000, weft::wire::tk_remote_call, 2, 9, "ChanSend");
    add(evs, 5'006'000, weft::wire::tk_go_end, 2);
    add(evs, 5'007'000, weft::wire::tk_remote_reply, 3, 9);
    add(evs, 5'008'000, weft::wire::tk_go_block, 3, 0, "sleep");  // still blocked at detach
    add(evs, 6'000'000, 99, 3);  // a later kind: skipped
    add(evs, 6'000'000, weft::wire::tk_dropped, 0, 12);
    log.record(7, evs);
    log.record(8, evs);  // a client that never attached: ignored
    log.detach(7);
    log.close();
  });
  std::string json = slurp(path);
  std::filesystem::remove(path);
  EXPECT_EQ(json.rfind("{\"traceEvents\":[\n", 0), 0u);
  EXPECT_EQ(json.substr(json.size() - 4), "\n]}\n");
  EXPECT_NE(json.find("\"name\":\"process_name\",\"args\":{\"name\":\"prog (pid 4242)\"}"), std::string::npos);
  EXPECT_NE(json.find("\"tid\":2,\"name\":\"thread_name\",\"args\":{\"name\":\"worker \\\"a\\\"\\nb\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"tid\":3,\"name\":\"thread_name\",\"args\":{\"name\":\"goroutine 3\"}"), std::string::npos);
  EXPECT_NE(json.find("\"ph\":\"X\",\"pid\":4242,\"tid\":2,\"ts\":2.500,\"name\":\"chan receive\",\"cat\":\"block\","
                      "\"dur\":5000.000"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"ph\":\"b\",\"pid\":4242,\"tid\":2,\"ts\":5004.000,\"name\":\"ChanSend\""), std::string::npos);
  EXPECT_NE(json.find("\"ph\":\"e\",\"pid\":4242,\"tid\":2,\"ts\":5006.000,\"name\":\"ChanSend\""), std::string::npos);
  EXPECT_NE(json.find("\"chan\":\"0xabc\""), std::string::npos);
  EXPECT_NE(json.find("12 events dropped"), std::string::npos);
  // The summary: counts, the channel, the longest blocks with reasons.
  EXPECT_NE(summary.find("weft trace: prog (pid 4242): 1 goroutines created, 1 ended, 12 events, 12 dropped"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("0xabc"), std::string::npos) << summary;
  std::size_t chan_block = summary.find("chan receive");
  std::size_t sleep_block = summary.find("sleep");
  ASSERT_NE(chan_block, std::string::npos) << summary;
  ASSERT_NE(sleep_block, std::string::npos) << summary;
  EXPECT_LT(chan_block, sleep_block) << "longest first: " << summary;
  EXPECT_NE(summary.find("5.00 ms"), std::string::npos) << summary;
  EXPECT_NE(summary.find("goroutine 2 \"worker \"a\"?b\""), std::string::npos) << "one line per block: " << summary;
  EXPECT_NE(summary.find("(still blocked at exit)"), std::string::npos) << summary;
}

// In memory (a trace on request): the same document, capped. Past the
// cap nothing more is recorded; the last event and the summary say how
// many were dropped, and the document is still complete JSON under it.
TEST(TraceLog, InMemoryStopsAtItsCapAndSaysWhatItDropped) {
  constexpr std::size_t cap = 64 << 10;
  std::string summary, json;
  weft::run([&] {
    weft::wire::trace_log log(cap, [&](std::string_view s) { summary += s; });
    log.attach(1, 4242, "/usr/bin/prog");
    v1::TraceEvents evs;
    add(evs, 1'000, weft::wire::tk_go_create, 2, 1, "worker");
    for (int i = 0; i < 2000; ++i) add(evs, 2'000 + i, weft::wire::tk_chan_send, 2, 0xabc);
    log.record(1, evs);
    EXPECT_TRUE(log.full());
    log.record(1, evs);  // counted only
    log.not_recorded(1, 5);  // what the caller left out
    log.detach(1);
    log.close();
    json = log.take();
  });
  EXPECT_LE(json.size(), cap);
  EXPECT_EQ(json.rfind("{\"traceEvents\":[\n", 0), 0u);
  EXPECT_EQ(json.substr(json.size() - 4), "\n]}\n");
  std::size_t kept = 0;
  for (std::size_t at = json.find("\"chan send\""); at != std::string::npos; at = json.find("\"chan send\"", at + 1))
    ++kept;
  EXPECT_GT(kept, 100u);
  EXPECT_LT(kept, 2000u);
  const std::uint64_t dropped = 2 * 2001 + 5 - kept - 1;  // all but the go_create and the sends kept
  EXPECT_NE(json.find("\"name\":\"" + std::to_string(dropped) + " events dropped: the trace reached its cap of " +
                      std::to_string(cap) + " bytes\"}"),
            std::string::npos)
      << json.substr(json.size() - 300);
  EXPECT_NE(summary.find(std::to_string(dropped) + " dropped (the trace reached its size cap)"), std::string::npos)
      << summary;
  EXPECT_EQ(summary.find("trace in"), std::string::npos) << "no file to name: " << summary;
}

// A goroutine that predates the trace is named by its first go_start's
// text, even when it was seen before (woken first): its track is named
// once, then; and its blocks before that are the runtime's if its name
// says so (left out of the summary).
TEST(TraceLog, AGoroutineThatPredatesTheTraceIsNamedAtItsFirstStart) {
  std::string json, summary;
  weft::run([&] {
    weft::wire::trace_log log(std::size_t{1} << 20, [&](std::string_view t) { summary += t; });
    log.attach(1, 4242, "/usr/bin/prog");
    v1::TraceEvents evs;
    add(evs, 1'000, weft::wire::tk_go_start, 5, 0, "pinger");
    add(evs, 2'000, weft::wire::tk_go_unblock, 6, 5);
    add(evs, 3'000, weft::wire::tk_go_start, 6, 0, "ponger");
    add(evs, 4'000, weft::wire::tk_go_start, 7);
    add(evs, 5'000, weft::wire::tk_go_block, 8, 0, "sleep");  // running when the trace began
    add(evs, 9'000'000, weft::wire::tk_go_unblock, 8);
    add(evs, 9'001'000, weft::wire::tk_go_start, 8, 0, "weft: runtime stub control");
    add(evs, 9'002'000, weft::wire::tk_go_block, 9, 0, "sleep");
    add(evs, 9'003'000, weft::wire::tk_go_unblock, 9);
    add(evs, 9'004'000, weft::wire::tk_go_start, 9, 0, "worker");
    add(evs, 9'005'000, weft::wire::tk_go_unblock, 10);  // never runs in the trace
    log.record(1, evs);
    log.detach(1);
    log.close();
    json = log.take();
  });
  auto named = [&](int tid, const std::string& name) {
    return json.find("\"tid\":" + std::to_string(tid) + ",\"name\":\"thread_name\",\"args\":{\"name\":\"" + name +
                     "\"}") != std::string::npos;
  };
  EXPECT_TRUE(named(5, "pinger")) << json;
  EXPECT_TRUE(named(6, "ponger")) << json;
  EXPECT_FALSE(named(6, "goroutine 6")) << "one name per track: " << json;
  EXPECT_TRUE(named(7, "goroutine 7")) << json;
  EXPECT_TRUE(named(10, "goroutine 10")) << "named when the program detaches: " << json;
  EXPECT_EQ(summary.find("goroutine 8"), std::string::npos) << summary;
  EXPECT_NE(summary.find("goroutine 9 \"worker\""), std::string::npos) << summary;
}

TEST(TraceSummary, KeepsTheLongestBlocksAndLeavesOutTheRuntimesOwn) {
  weft::wire::trace_summary s;
  for (int i = 1; i <= 20; ++i) s.block(i, "", "r" + std::to_string(i), i * 1'000'000, false);
  s.block(99, "weft: runtime stub reader", "IO wait", 1'000'000'000'000, true);
  s.chan_op(0x1234, true, "");
  s.chan_op(0x5678, false, "weft: runtime stub writer");
  std::string t = s.table("p");
  EXPECT_EQ(t.find("IO wait"), std::string::npos) << t;
  EXPECT_NE(t.find("0x1234 "), std::string::npos) << t;
  EXPECT_EQ(t.find("0x5678"), std::string::npos) << "the runtime's own channel traffic: " << t;
  EXPECT_NE(t.find("goroutine 20 "), std::string::npos) << t;
  EXPECT_NE(t.find("goroutine 16 "), std::string::npos) << t;
  EXPECT_EQ(t.find("goroutine 15 "), std::string::npos) << "only the top 5: " << t;
}

}  // namespace

namespace weft_trace_xref {

// An xref call from program A (pid 100, goroutine 2) to program B (pid
// 200, goroutine 5), both in one trace (weftd --trace): a flow from A's
// track to B's with one id, each end's async slice, and the flow's
// start/end on the caller's/callee's pid. A reply nobody called for (a
// dial's) writes nothing.
TEST(TraceLog, AnXrefCallIsAFlowFromTheCallersTrackToTheCallees) {
  std::string json;
  weft::run([&] {
    weft::wire::trace_log log(std::size_t{1} << 20, nullptr);
    log.attach(1, 100, "/bin/a");
    log.attach(2, 200, "/bin/b");
    constexpr std::uint64_t flow = 0xfeedbeef12345678ull;
    v1::TraceEvents a, b;
    add(a, 1'000, weft::wire::tk_go_start, 2);
    add(a, 2'000, weft::wire::tk_xref_call, 2, flow);
    add(a, 2'500, weft::wire::tk_go_block, 2, 0, "future");
    add(b, 3'000, weft::wire::tk_go_start, 5);
    add(b, 3'100, weft::wire::tk_xref_serve, 5, flow);
    add(b, 4'000, weft::wire::tk_xref_served, 5, flow);
    add(b, 4'100, weft::wire::tk_go_end, 5);
    add(a, 4'500, weft::wire::tk_xref_reply, 9, flow);
    add(a, 4'600, weft::wire::tk_xref_reply, 9, 77);  // a dial's reply
    add(a, 4'700, weft::wire::tk_go_unblock, 2, 9);
    log.record(1, a);
    log.record(2, b);
    log.close();
    json = log.take();
  });
  auto has = [&](const std::string& s) { return json.find(s) != std::string::npos; };
  EXPECT_TRUE(has("{\"ph\":\"s\",\"pid\":100,\"tid\":2,\"ts\":1.000,\"name\":\"xref call\",\"cat\":\"xref\","
                  "\"id\":\"0xfeedbeef12345678\"}"))
      << json;
  EXPECT_TRUE(has("{\"ph\":\"f\",\"pid\":200,\"tid\":5,\"ts\":2.100,\"name\":\"xref call\",\"cat\":\"xref\","
                  "\"id\":\"0xfeedbeef12345678\",\"bp\":\"e\"}"))
      << json;
  EXPECT_TRUE(has("{\"ph\":\"b\",\"pid\":100,\"tid\":2,\"ts\":1.000,\"name\":\"xref call\",\"cat\":\"xref\""))
      << json;
  EXPECT_TRUE(has("{\"ph\":\"e\",\"pid\":100,\"tid\":2,\"ts\":3.500,\"name\":\"xref call\",\"cat\":\"xref\""))
      << json;
  EXPECT_TRUE(has("{\"ph\":\"b\",\"pid\":200,\"tid\":5,\"ts\":2.100,\"name\":\"xref serve\",\"cat\":\"xref\""))
      << json;
  EXPECT_TRUE(has("{\"ph\":\"e\",\"pid\":200,\"tid\":5,\"ts\":3.000,\"name\":\"xref serve\",\"cat\":\"xref\""))
      << json;
  EXPECT_FALSE(has("0x4d\"")) << "the dial's reply made a slice: " << json;
  // One flow start and one end in all.
  auto count = [&](const std::string& s) {
    std::size_t n = 0;
    for (std::size_t at = json.find(s); at != std::string::npos; at = json.find(s, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("{\"ph\":\"s\""), 1u);
  EXPECT_EQ(count("{\"ph\":\"f\""), 1u);
  // The time base, for a merge with other documents (trace_merge.hpp).
  EXPECT_TRUE(has("{\"ph\":\"M\",\"pid\":100,\"name\":\"weft_time_base\",\"args\":{\"ns\":1000}}")) << json;
}

}  // namespace weft_trace_xref
