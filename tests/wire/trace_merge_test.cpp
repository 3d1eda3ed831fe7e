// tests/wire/trace_merge_test.cpp: splicing trace documents
// (wire/trace_merge.hpp): the events of every part in one valid document,
// each part's times moved by its time base so the parts line up, and a
// part that breaks the structure refused.
#include "wire/trace_merge.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include <weft/weft.hpp>

#include "wire/trace_kind.hpp"
#include "wire/trace_log.hpp"

namespace {

namespace v1 = weft::runtime::v1;
using weft::wire::merge_traces;

// A document of one program (pid) whose goroutine 2 runs from start_ns
// for 1 ms; its name has what looks like a ts, in a string.
std::string document(std::int64_t pid, std::int64_t start_ns) {
  std::string out;
  weft::run([&] {
    weft::wire::trace_log log(std::size_t{1} << 20, nullptr);
    log.attach(1, pid, "/bin/prog");
    v1::TraceEvents evs;
    for (auto [t, kind] : {std::pair{start_ns, weft::wire::tk_go_start}, std::pair{start_ns + 1'000'000, weft::wire::tk_go_end}}) {
      v1::TraceEvent* e = evs.add_events();
      e->set_time_ns(t);
      e->set_kind(kind);
      e->set_goroutine(2);
      e->set_text(",\"ts\":1.000 \"name\":\"weft_time_base\",\"args\":{\"ns\":5}");
    }
    log.record(1, evs);
    log.close();
    out = log.take();
  });
  return out;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(TraceMerge, PartsLineUpByTheirTimeBases) {
  const std::string a = document(100, 5'000'000);  // starts 5 ms in
  const std::string b = document(200, 2'000'000);  // starts 2 ms in: the earliest
  const std::string m = merge_traces({a, b}, {"a", "b"});
  EXPECT_EQ(m.rfind("{\"traceEvents\":[\n", 0), 0u) << m;
  EXPECT_EQ(m.substr(m.size() - 4), "\n]}\n") << m;
  // b's running slice is at 0, a's 3 ms later.
  EXPECT_NE(m.find("{\"ph\":\"X\",\"pid\":200,\"tid\":2,\"ts\":0.000,\"name\":\"running\""), std::string::npos) << m;
  EXPECT_NE(m.find("{\"ph\":\"X\",\"pid\":100,\"tid\":2,\"ts\":3000.000,\"name\":\"running\""), std::string::npos) << m;
  // Both bases now say the merged document's base; the name, a string, is untouched.
  EXPECT_EQ(count(m, "\"name\":\"weft_time_base\",\"args\":{\"ns\":2000000}"), 2u) << m;
  EXPECT_EQ(count(m, ",\\\"ts\\\":1.000 "), 2u) << m;  // in the two thread names
  EXPECT_EQ(count(m, "\"process_name\""), 2u);
  // Events joined by ",\n", none lost.
  EXPECT_EQ(count(m, "\n{"), count(a, "\n{") + count(b, "\n{"));
  EXPECT_EQ(count(m, ",\n{") + 1, count(m, "\n{"));
}

TEST(TraceMerge, EmptyPartsAndNoPartsMakeAValidDocument) {
  EXPECT_EQ(merge_traces({}, {}), "{\"traceEvents\":[\n]}\n");
  const std::string empty = "{\"traceEvents\":[\n]}\n";
  const std::string a = document(100, 1'000);
  const std::string m = merge_traces({empty, a, empty}, {"x", "a", "y"});
  EXPECT_EQ(m, a) << "one part: as it was";
}

TEST(TraceMerge, APartThatBreaksTheStructureIsRefusedByName) {
  const std::string a = document(100, 1'000);
  auto refused = [&](const std::string& bad) -> std::string {
    try {
      merge_traces({a, bad}, {"pid:100", "pid:200"});
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_NE(refused("{\"traceEvents\":[\n{}").find("the trace of pid:200 is not a weft trace document"),
            std::string::npos);
  EXPECT_NE(refused("[]").find("does not open with"), std::string::npos);
  EXPECT_NE(refused("{\"traceEvents\":[\n{\"ph\":\"i\",\"ts\":12}\n]}\n").find("is not a number of microseconds"),
            std::string::npos);
  EXPECT_NE(refused("{\"traceEvents\":[\n{\"name\":\"weft_time_base\",\"args\":{\"ns\":-4}}\n]}\n")
                .find("weft_time_base is not a number"),
            std::string::npos);
  EXPECT_NE(refused("{\"traceEvents\":[{}\n]}\n").find("not on a line of its own"), std::string::npos);
}

}  // namespace
