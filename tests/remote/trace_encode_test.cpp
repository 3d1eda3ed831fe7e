// tests/remote/trace_encode_test.cpp: the runtime's events in the
// protocol's terms (remote/trace_encode.hpp): as messages (trace_frames),
// and as framed bytes written without them (trace_framed), which must be
// the very bytes protobuf would write for those messages.
#include "remote/trace_encode.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "wire/frame.hpp"

#include "wire/trace_kind.hpp"

namespace {

using weft::detail::ev;
using weft::detail::trace_batch;
using weft::detail::trace_event;

TEST(TraceFrames, CreateBelongsToTheNewGoroutineWithItsName) {
  trace_batch b;
  b.events.push_back(trace_event{10, 1, 5, nullptr, 0, ev::go_create});
  b.events.push_back(trace_event{11, 0, 0, nullptr, 0, ev::m_park});  // left out
  b.events.push_back(trace_event{12, 5, 0, "chan receive", 0, ev::go_block});
  b.names.emplace_back(5, "worker");
  auto frames = weft::remote::detail::trace_frames(b, 100);
  ASSERT_EQ(frames.size(), 1u);
  ASSERT_TRUE(frames[0].has_trace_events());
  EXPECT_EQ(frames[0].id(), 0u);  // one-way
  const auto& evs = frames[0].trace_events().events();
  ASSERT_EQ(evs.size(), 2);
  EXPECT_EQ(evs[0].kind(), weft::wire::tk_go_create);
  EXPECT_EQ(evs[0].goroutine(), 5u);
  EXPECT_EQ(evs[0].arg(), 1u);
  EXPECT_EQ(evs[0].text(), "worker");
  EXPECT_EQ(evs[1].kind(), weft::wire::tk_go_block);
  EXPECT_EQ(evs[1].text(), "chan receive");
  EXPECT_EQ(evs[1].time_ns(), 12);
}

TEST(TraceFrames, SplitsBigBatchesAndReportsDrops) {
  trace_batch b;
  for (int i = 0; i < 25; ++i) b.events.push_back(trace_event{i, 3, 0, nullptr, 0, ev::go_start});
  b.dropped = 7;
  auto frames = weft::remote::detail::trace_frames(b, 10);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].trace_events().events_size(), 10);
  EXPECT_EQ(frames[2].trace_events().events_size(), 6);  // 5 and the drop count
  const auto& last = frames[2].trace_events().events(5);
  EXPECT_EQ(last.kind(), weft::wire::tk_dropped);
  EXPECT_EQ(last.arg(), 7u);
}

TEST(TraceFrames, NothingToSendIsNoFrame) {
  EXPECT_TRUE(weft::remote::detail::trace_frames({}, 10).empty());
  std::string framed;
  weft::remote::detail::trace_framed({}, 10, framed);
  EXPECT_TRUE(framed.empty());
}

// The payloads of the frames in bytes, each checked to be complete.
std::vector<std::string> payloads(std::string_view bytes) {
  weft::wire::frame_decoder d;
  d.feed(bytes);
  std::vector<std::string> out;
  std::string_view p;
  while (d.next(&p) == weft::wire::frame_decoder::status::ready) out.emplace_back(p);
  EXPECT_EQ(d.buffered(), 0u) << "trailing bytes that are not a whole frame";
  return out;
}

// A batch with every case of the mapping: a create with a name, a start
// that names a goroutine from before the trace, texts, an M-level event,
// zero fields, large and negative numbers, drops.
trace_batch every_case(int n) {
  trace_batch b;
  b.events.push_back(trace_event{0, 0, 0, nullptr, 0, ev::go_start});  // all zero
  b.events.push_back(trace_event{-5, 1, 9, nullptr, 2, ev::go_create});
  b.events.push_back(trace_event{1, 9, 0, nullptr, 2, ev::go_start});
  b.events.push_back(trace_event{2, 4, 0, nullptr, 2, ev::go_start});  // named: it predates the trace
  b.events.push_back(trace_event{3, 4, 0, nullptr, 2, ev::m_park});
  for (int i = 0; i < n; ++i)
    b.events.push_back(trace_event{1'000'000'000'000 + i, 9, ~std::uint64_t{0} - i, i % 2 ? "IO read" : nullptr, 1,
                                   i % 3 ? ev::go_block : ev::chan_send});
  b.names.emplace_back(9, "worker \u00e9");
  b.names.emplace_back(4, "older");
  b.dropped = 3;
  return b;
}

TEST(TraceFramed, IsByteForByteWhatProtobufWritesForTheSameFrames) {
  for (std::size_t max_events : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
    trace_batch b = every_case(50);
    auto frames = weft::remote::detail::trace_frames(b, max_events);
    std::string framed;
    weft::remote::detail::trace_framed(b, max_events, framed);
    auto got = payloads(framed);
    ASSERT_EQ(got.size(), frames.size()) << "max_events " << max_events;
    for (std::size_t i = 0; i < frames.size(); ++i)
      EXPECT_EQ(got[i], frames[i].SerializeAsString()) << "frame " << i << " of max_events " << max_events;
  }
  // The mapping itself, as the messages have it.
  auto frames = weft::remote::detail::trace_frames(every_case(0), 100);
  ASSERT_EQ(frames.size(), 1u);
  const auto& evs = frames[0].trace_events().events();
  ASSERT_EQ(evs.size(), 5);  // the M-level one left out, the drops added
  EXPECT_EQ(evs[1].goroutine(), 9u);
  EXPECT_EQ(evs[1].text(), "worker \u00e9");
  EXPECT_EQ(evs[2].text(), "") << "a name goes out once";
  EXPECT_EQ(evs[3].text(), "older");
  EXPECT_EQ(evs[4].arg(), 3u);
}

// A goroutine's name is whatever bytes its program gave: the frames must
// still parse (proto3 strings are UTF-8) and stay far under the frame
// limit, however long the names.
TEST(TraceFramed, NamesThatAreNotUtf8OrHugeStillMakeFramesAReceiverTakes) {
  trace_batch b;
  for (std::uint64_t g = 1; g <= 600; ++g) {
    b.events.push_back(trace_event{static_cast<std::int64_t>(g), 1, g, nullptr, 0, ev::go_create});
    std::string name = "bad \xff\xfe name";
    if (g % 2 == 1) name.assign(50'000, '\xe9');  // a long name of bytes that are not UTF-8 alone
    b.names.emplace_back(g, std::move(name));
  }
  // A runtime text may be long too (a function's name), and is cut between
  // characters: 3000 three-byte characters.
  static std::string long_function;
  for (int i = 0; i < 3000; ++i) long_function += "\u20ac";
  b.events.push_back(trace_event{1000, 1, 0, long_function.c_str(), 0, ev::blocking_enter});
  std::string framed;
  weft::remote::detail::trace_framed(b, 8192, framed);
  auto got = payloads(framed);
  ASSERT_GT(got.size(), 1u) << "600 names of 4 KiB in one frame";
  std::size_t events = 0;
  for (const std::string& p : got) {
    EXPECT_LT(p.size(), std::size_t{2} << 20);
    weft::runtime::v1::Frame f;
    ASSERT_TRUE(f.ParseFromString(p)) << "a frame the receiver cannot parse";
    for (const auto& e : f.trace_events().events()) {
      EXPECT_LE(e.text().size(), weft::remote::detail::max_text_bytes);
      if (e.goroutine() % 2 == 0) {
        EXPECT_EQ(e.text(), "bad ?? name");
      }
      ++events;
    }
  }
  EXPECT_EQ(events, 601u);
}

}  // namespace
