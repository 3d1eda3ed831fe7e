// src/wire/frame: frames cut from a byte stream however the reads split it,
// a length above the limit (or zero) reported before any allocation, and
// every truncation and bit flip of a real frame either parsed or refused.
#include "wire/frame.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "weft/runtime/v1/runtime.pb.h"

namespace {

namespace v1 = weft::runtime::v1;
using weft::wire::frame_decoder;

v1::Frame sample(std::uint64_t id, std::string value) {
  v1::Frame f;
  f.set_id(id);
  f.mutable_chan_send()->set_handle(7);
  f.mutable_chan_send()->set_value(std::move(value));
  f.mutable_chan_send()->set_mode(v1::OFFER);
  return f;
}

TEST(Frame, RoundTripsWhateverTheReadSizes) {
  std::string stream;
  std::vector<v1::Frame> sent;
  for (int i = 0; i < 50; ++i) {
    sent.push_back(sample(i + 1, std::string(static_cast<std::size_t>(i * 37), static_cast<char>('a' + i % 26))));
    weft::wire::append_frame(sent.back(), stream);
  }
  std::mt19937 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    frame_decoder d;
    std::size_t at = 0, got = 0;
    while (at < stream.size() || got < sent.size()) {
      std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 97);
      d.feed(std::string_view(stream).substr(at, n));
      at += n;
      std::string_view payload;
      frame_decoder::status s;
      while ((s = d.next(&payload)) == frame_decoder::status::ready) {
        v1::Frame f;
        ASSERT_TRUE(weft::wire::parse_frame(payload, f));
        ASSERT_LT(got, sent.size());
        EXPECT_EQ(f.id(), sent[got].id());
        EXPECT_EQ(f.chan_send().value(), sent[got].chan_send().value());
        ++got;
      }
      ASSERT_EQ(s, frame_decoder::status::need_more);
      if (at == stream.size() && s == frame_decoder::status::need_more) break;
    }
    EXPECT_EQ(got, sent.size());
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(Frame, OversizedAndEmptyLengthsAreRefusedBeforeAllocating) {
  frame_decoder d(1024);
  d.feed(std::string("\x7f\xff\xff\xff", 4));  // claims 2 GiB
  std::string_view p;
  EXPECT_EQ(d.next(&p), frame_decoder::status::too_large);
  EXPECT_EQ(d.announced(), 0x7fffffffu);
  EXPECT_LT(d.buffered(), 16u);
  frame_decoder z;
  z.feed(std::string("\0\0\0\0", 4));
  EXPECT_EQ(z.next(&p), frame_decoder::status::too_large);
  v1::Frame big = sample(1, std::string(2000, 'x'));
  std::string out;
  EXPECT_THROW(weft::wire::append_frame(big, out, 1024), std::length_error);
}

TEST(Frame, EveryTruncationAndBitFlipParsesOrIsRefused) {
  v1::Frame f = sample(99, "payload");
  f.mutable_chan_send()->set_handle(123456789);
  std::string bytes = f.SerializeAsString();
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    v1::Frame g;
    (void)weft::wire::parse_frame(std::string_view(bytes).substr(0, n), g);
  }
  for (std::size_t i = 0; i < bytes.size() * 8; ++i) {
    for (std::size_t j = i; j < std::min(bytes.size() * 8, i + 9); j += 8) {  // one flip, and pairs
      std::string b = bytes;
      b[i / 8] = static_cast<char>(b[i / 8] ^ (1 << (i % 8)));
      if (j != i) b[j / 8] = static_cast<char>(b[j / 8] ^ (1 << (j % 8)));
      v1::Frame g;
      (void)weft::wire::parse_frame(b, g);
    }
  }
  SUCCEED();  // reaching here without a crash (or a sanitizer report) is the assertion
}

// parse_frame reuses a TraceEvents body's messages from one frame to the
// next (frame.cpp): whatever came before, the result is what a fresh
// parse gives, for TraceEvents frames and the others alike.
TEST(Frame, AReusedFrameParsesAsAFreshOne) {
  auto trace = [](std::uint64_t id, int events, std::string text) {
    v1::Frame f;
    f.set_id(id);
    for (int i = 0; i < events; ++i) {
      v1::TraceEvent* e = f.mutable_trace_events()->add_events();
      e->set_time_ns(1000 + i);
      e->set_kind(2);
      e->set_goroutine(7 + i);
      if (i % 2 == 0) e->set_text(text);
    }
    if (events == 0) f.mutable_trace_events();
    return f.SerializeAsString();
  };
  v1::Frame ping;
  ping.mutable_ping();
  v1::Frame bodiless;
  bodiless.set_id(5);
  std::string unknown_body = bodiless.SerializeAsString() + std::string("\xa2\x3e\x00", 3);  // field 999, empty
  // TraceEvents' field number as a varint: an unknown field, not that body.
  std::string wrong_wire_type = std::string("\xe0\x03\x01", 3);
  const std::vector<std::string> payloads = {
      trace(0, 5, "chan receive"), trace(0, 2, "x"), trace(3, 0, ""), trace(0, 4, std::string(300, 'y')),
      ping.SerializeAsString(),    trace(0, 3, "IO wait"), bodiless.SerializeAsString(), trace(0, 1, "z"),
      unknown_body,                trace(0, 6, "select"),  sample(9, "v").SerializeAsString(), trace(0, 2, "w"),
      wrong_wire_type,             trace(0, 1, "u")};
  v1::Frame reused;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    v1::Frame fresh;
    ASSERT_TRUE(fresh.ParseFromString(payloads[i])) << i;
    ASSERT_TRUE(weft::wire::parse_frame(payloads[i], reused)) << i;
    EXPECT_EQ(reused.body_case(), fresh.body_case()) << "payload " << i;
    EXPECT_EQ(reused.SerializeAsString(), fresh.SerializeAsString()) << "payload " << i;
  }
}

}  // namespace
