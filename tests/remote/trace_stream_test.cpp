// tests/remote/trace_stream_test.cpp: the runtime's events in the
// protocol's terms (remote/trace_stream.hpp: trace_frames).
#include "remote/trace_stream.hpp"

#include <gtest/gtest.h>

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

TEST(TraceFrames, NothingToSendIsNoFrame) { EXPECT_TRUE(weft::remote::detail::trace_frames({}, 10).empty()); }

}  // namespace
