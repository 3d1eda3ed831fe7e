// src/wire/frame.cpp: the length-prefixed framing (design in frame.hpp).
#include "wire/frame.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "weft/runtime/v1/runtime.pb.h"

namespace weft::wire {

namespace {

void put_u32(std::uint32_t v, char* p) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

std::uint32_t get_u32(const char* p) {
  auto b = [p](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

void append_frame_header(std::uint32_t n, std::string& out) {
  char h[header_size];
  put_u32(n, h);
  out.append(h, header_size);
}

void append_frame(std::string_view payload, std::string& out) {
  append_frame_header(static_cast<std::uint32_t>(payload.size()), out);
  out.append(payload);
}

void append_frame(const frame& f, std::string& out, std::uint32_t max_frame) {
  std::size_t n = f.ByteSizeLong();
  if (n > max_frame)
    throw std::length_error("weft: a frame of " + std::to_string(n) + " bytes is above the limit of " +
                            std::to_string(max_frame));
  std::size_t at = out.size();
  out.resize(at + header_size + n);
  put_u32(static_cast<std::uint32_t>(n), out.data() + at);
  f.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out.data() + at + header_size));
}

void frame_decoder::compact() {
  if (start_ == 0) return;
  std::memmove(buf_.get(), buf_.get() + start_, end_ - start_);
  end_ -= start_;
  start_ = 0;
}

char* frame_decoder::prepare(std::size_t n) {
  if (start_ > 0 && (start_ == end_ || start_ > capacity_ / 2)) compact();
  if (capacity_ < end_ + n) {
    std::size_t grown = std::max(end_ + n, 2 * capacity_);
    std::unique_ptr<char[]> bigger(new char[grown]);  // default-initialized: not zeroed
    if (end_ > start_) std::memcpy(bigger.get(), buf_.get() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
    buf_ = std::move(bigger);
    capacity_ = grown;
  }
  return buf_.get() + end_;
}

void frame_decoder::commit(std::size_t k) { end_ += k; }

void frame_decoder::feed(std::string_view bytes) {
  std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
  commit(bytes.size());
}

frame_decoder::status frame_decoder::next(std::string_view* payload) {
  std::size_t have = end_ - start_;
  if (have < header_size) return status::need_more;
  std::uint32_t n = get_u32(buf_.get() + start_);
  announced_ = n;
  if (n == 0 || n > max_frame_) return status::too_large;
  if (have < header_size + n) return status::need_more;
  *payload = std::string_view(buf_.get() + start_ + header_size, n);
  start_ += header_size + n;
  return status::ready;
}

namespace {

// Whether payload has a TraceEvents body at its top level: its field
// number with the wire type of a message (with another wire type protobuf
// keeps it as an unknown field). The other fields are skipped as protobuf
// does; false for bytes that are not a message.
bool has_trace_events_field(std::string_view payload) {
  using wfl = google::protobuf::internal::WireFormatLite;
  constexpr std::uint32_t body_tag =
      wfl::MakeTag(runtime::v1::Frame::kTraceEventsFieldNumber, wfl::WIRETYPE_LENGTH_DELIMITED);
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  while (std::uint32_t tag = in.ReadTag()) {
    if (tag == body_tag) return true;
    if (!wfl::SkipField(&in, tag)) return false;
  }
  return false;
}

}  // namespace

bool parse_frame(std::string_view payload, frame& f) {
  // A stream of TraceEvents frames (a traced program's) reuses the
  // messages of the previous one: protobuf's Clear keeps a repeated
  // field's elements and their strings for the next parse to fill, where
  // ParseFromArray would free them with the oneof and allocate each event
  // again. Merging into an empty TraceEvents is parsing when the payload
  // has that body, which the check makes sure of.
  if (f.has_trace_events() && has_trace_events_field(payload)) {
    runtime::v1::TraceEvents* kept = f.release_trace_events();
    f.Clear();
    kept->Clear();
    f.set_allocated_trace_events(kept);
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                              static_cast<int>(payload.size()));
    return f.MergeFromCodedStream(&in) && in.ConsumedEntireMessage();
  }
  return f.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
}

}  // namespace weft::wire
