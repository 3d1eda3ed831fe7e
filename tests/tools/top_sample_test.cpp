// weft top's numbers (tools/weft/top_sample.hpp) and the JSON reader under
// them (json_value.hpp), on answers written by the test: rates are
// differences over the process's own clock; a restart of the
// instrumentation gives unknown rates, never negative ones; a goroutine
// first seen in the later sample counts from zero only when the earlier
// listed every goroutine; rows sort by the key, then by name; malformed
// JSON is refused whole, and so are numbers and escapes JSON has not (the
// fuzzer's findings); a repeated key keeps its last value. The tool's
// sources are compiled in.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "json_value.hpp"
#include "top_sample.hpp"

namespace {

using weft::tool::goroutine_rows;
using weft::tool::parse_json;
using weft::tool::process_row_of;
using weft::tool::top_sample;

top_sample sample(const std::string& stats, const std::string& gstats) {
  top_sample s;
  auto a = parse_json(stats);
  auto b = parse_json(gstats);
  EXPECT_TRUE(a && b) << stats << "\n" << gstats;
  s.ok = a && b;
  if (a) s.stats = *a;
  if (b) s.gstats = *b;
  return s;
}

// A process at attached_s `t` with cpu_s `cpu`, instrumented for `ms`,
// with `sends` channel sends and `blocked` ms blocked in "chan receive".
top_sample at(double t, double cpu, double ms, int sends, double blocked, bool started = false,
              const std::string& listed = "[]", int goroutines = 3) {
  return sample("{\"attached_s\":" + std::to_string(t) + ",\"cpu_s\":" + std::to_string(cpu) +
                    ",\"rss_bytes\":1048576,\"goroutines\":5}",
                std::string("{\"instrumenting\":true,\"started_now\":") + (started ? "true" : "false") +
                    ",\"instrumented_ms\":" + std::to_string(ms) + ",\"goroutines\":" + std::to_string(goroutines) +
                    ",\"running\":1,\"runnable\":1,\"total\":{\"running_ms\":0,\"chan_sends\":" +
                    std::to_string(sends) +
                    ",\"chan_recvs\":0,\"bytes_read\":0,\"bytes_written\":0,\"blocked_by\":[{\"reason\":\"chan "
                    "receive\",\"ms\":" +
                    std::to_string(blocked) + "}]},\"listed\":" + listed + "}");
}

TEST(JsonValue, ReadsWhatTheStubWritesAndRefusesTheRest) {
  auto v = parse_json(R"({"a":[1,2.5,-3e2],"s":"x\"y\u00e9\n","t":true,"f":false,"n":null,"o":{}})");
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)["a"].items.size(), 3u);
  EXPECT_EQ((*v)["a"].items[2].num(), -300);
  EXPECT_EQ((*v)["s"].str(), "x\"y\xc3\xa9\n");
  EXPECT_TRUE((*v)["t"].truth());
  EXPECT_FALSE((*v)["f"].truth());
  EXPECT_TRUE((*v).has("n"));
  EXPECT_EQ((*v)["missing"]["deeper"].num(7), 7);  // lookups chain through what is not there
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\":1} x", "tru", "\"open"})
    EXPECT_FALSE(parse_json(bad)) << bad;
  EXPECT_FALSE(parse_json(std::string(100, '[') + std::string(100, ']'))) << "depth is bounded";
}

// json_value_fuzz found "nAn" (it traps on nan) in a minute: strtod took nan
// (a value no JSON has), "inf", hex and signs.
TEST(JsonValue, NumbersAreJsonNumbersOnly) {
  for (const char* bad : {"nAn", "nan", "NAN", "inf", "-inf", "infinity", "0x10", "+1", ".5", "1.", "-", "1e", "1e+",
                          "01", "[01]", "- 1"})
    EXPECT_FALSE(parse_json(bad)) << bad;
  EXPECT_EQ(parse_json("-0")->num(7), 0);
  EXPECT_EQ(parse_json("1E+2")->num(), 100);
  EXPECT_EQ(parse_json("[2.5e-1]")->items.at(0).num(), 0.25);
  const auto huge = parse_json("1e999");
  ASSERT_TRUE(huge) << "too large for a double reads as an infinity, not as an error";
  EXPECT_TRUE(std::isinf(huge->num()));
  const auto longer = parse_json("0." + std::string(80, '0') + "1");
  ASSERT_TRUE(longer) << "a number of more than 64 characters";
  EXPECT_GT(longer->num(), 0);
}

// strtoul read "\u -12" as a code point (a sign and a space taken as
// digits), and "\u0x12" too.
TEST(JsonValue, AUnicodeEscapeIsFourHexDigits) {
  for (const char* bad : {R"("\u -12")", R"("\u+123")", R"("\u0x12")", R"("\u12")", R"("\u12g4")"})
    EXPECT_FALSE(parse_json(bad)) << bad;
  EXPECT_EQ(parse_json(R"("\u00E9\u0041")")->str(), "\xc3\xa9" "A");
}

// A repeated key was read over its first value: [1] then [2] gave [1,2].
TEST(JsonValue, ARepeatedKeyKeepsItsLastValueOnly) {
  auto v = parse_json(R"({"a":[1],"a":[2],"b":"x","b":3})");
  ASSERT_TRUE(v);
  ASSERT_EQ((*v)["a"].items.size(), 1u);
  EXPECT_EQ((*v)["a"].items[0].num(), 2);
  EXPECT_EQ((*v)["b"].num(), 3);
  EXPECT_EQ((*v)["b"].str(), "");
}

TEST(TopSample, RatesAreDifferencesOverTheProcesssOwnClock) {
  const auto r = process_row_of({}, at(10, 1.0, 1000, 100, 500), at(12, 2.5, 3000, 300, 4500));
  EXPECT_TRUE(r.rates);
  EXPECT_DOUBLE_EQ(r.cpu_pct, 75);  // 1.5 s of CPU over 2 s
  EXPECT_DOUBLE_EQ(r.chan_ops_per_s, 100);  // 200 sends over 2 s
  ASSERT_EQ(r.blocked_by.size(), 1u);
  EXPECT_EQ(r.blocked_by[0].reason, "chan receive");
  EXPECT_DOUBLE_EQ(r.blocked_by[0].goroutines, 2);  // 4 s blocked over 2 s
  EXPECT_EQ(r.goroutines, 5);
  EXPECT_EQ(r.blocked, 3);  // 5 - 1 running - 1 runnable
  EXPECT_EQ(r.rss_bytes, 1048576);
}

TEST(TopSample, ARestartedInstrumentationGivesUnknownRatesNotNegativeOnes) {
  const auto r = process_row_of({}, at(10, 1.0, 5000, 900, 500), at(12, 2.0, 100, 3, 10, /*started=*/true));
  EXPECT_FALSE(r.rates);
  EXPECT_DOUBLE_EQ(r.cpu_pct, 50);  // CPU time does not restart
  EXPECT_NE(weft::tool::row_json(r).find("\"cpu_pct\":50.000"), std::string::npos);
  EXPECT_EQ(weft::tool::row_json(r).find("chan_ops_per_s"), std::string::npos) << "unknown: left out";
  top_sample failed;
  failed.error = "pid 7 did not answer";
  const auto gone = process_row_of({}, at(10, 1, 1000, 0, 0), failed);
  EXPECT_EQ(gone.error, "pid 7 did not answer");
}

TEST(TopSample, GoroutineRowsSortBusiestFirstAndCountNewcomersOnlyFromACompleteList) {
  const std::string before = R"([{"id":1,"name":"a","state":"running","running_ms":100,"chan_sends":0,
    "chan_recvs":0,"bytes_read":0,"bytes_written":0}])";
  const std::string after = R"([{"id":1,"name":"a","state":"running","running_ms":600,"chan_sends":0,
    "chan_recvs":0,"bytes_read":0,"bytes_written":0},
    {"id":2,"name":"b","state":"blocked","reason":"sleep","running_ms":1500,"chan_sends":10,"chan_recvs":10,
     "bytes_read":0,"bytes_written":0,"created_by":"main","created_at":"/x/p.cpp:9"}])";
  // before listed its one goroutine: b counts from zero.
  auto rows = goroutine_rows(at(0, 0, 1000, 0, 0, false, before, 1), at(2, 0, 3000, 0, 0, false, after, 2));
  weft::tool::sort_rows(rows, "cpu");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "b");
  EXPECT_DOUBLE_EQ(rows[0].cpu_pct, 75);
  EXPECT_DOUBLE_EQ(rows[0].chan_ops_per_s, 10);
  EXPECT_EQ(rows[0].created_at, "/x/p.cpp:9");
  EXPECT_DOUBLE_EQ(rows[1].cpu_pct, 25);
  weft::tool::sort_rows(rows, "name");
  EXPECT_EQ(rows[0].name, "a");
  // before listed 1 of its 5: b may have been busy unlisted, so unknown.
  rows = goroutine_rows(at(0, 0, 1000, 0, 0, false, before, 5), at(2, 0, 3000, 0, 0, false, after, 5));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].rates);
  EXPECT_FALSE(rows[1].rates);
}

}  // namespace
