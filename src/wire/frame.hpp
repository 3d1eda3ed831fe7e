// src/wire/frame.hpp: length-prefixed frames on plain byte buffers.
//
// A frame on the wire is a 4-byte big-endian length L, then L bytes: one
// serialized weft.runtime.v1.Frame (proto/weft/runtime/v1/runtime.proto).
// 0 < L <= max_frame. Nothing here touches a socket, so the decoder is
// unit-tested and fuzzed on buffers alone (tests/wire/, fuzz/).
//
// The decoder never trusts a length before it has checked it against
// max_frame, and never holds more than one frame plus one read's worth of
// bytes: a peer cannot make it allocate more by lying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace weft::runtime::v1 {
class Frame;
}

namespace weft::wire {

using frame = weft::runtime::v1::Frame;

constexpr std::uint32_t default_max_frame = 16u << 20;  // 16 MiB
constexpr std::size_t header_size = 4;

// Appends the frame for payload (its length, then the bytes) to out.
void append_frame(std::string_view payload, std::string& out);
// Appends the length prefix of a payload of n bytes (which the caller
// appends next) to out.
void append_frame_header(std::uint32_t n, std::string& out);
// Appends f, serialized and framed, to out. Throws std::length_error if it
// is larger than max_frame.
void append_frame(const frame& f, std::string& out, std::uint32_t max_frame = default_max_frame);

// Cuts a byte stream into frame payloads.
class frame_decoder {
 public:
  explicit frame_decoder(std::uint32_t max_frame = default_max_frame) : max_frame_(max_frame) {}

  enum class status {
    ready,  // *payload is the next frame's payload
    need_more,  // no complete frame yet: feed more bytes
    too_large,  // the next frame's length is 0 or above max_frame: the stream is unusable
  };

  // Appends bytes read from the peer.
  void feed(std::string_view bytes);
  // Where the next read may write up to n bytes directly (then commit(k)).
  char* prepare(std::size_t n);
  void commit(std::size_t k);
  // The next frame, if complete. The view stays valid until the next call
  // of feed, prepare or next.
  status next(std::string_view* payload);
  // The length the stream announced last (for the too_large message).
  std::uint64_t announced() const noexcept { return announced_; }
  std::size_t buffered() const noexcept { return end_ - start_; }

 private:
  void compact();
  std::uint32_t max_frame_;
  // Not a std::string: growing one zero-fills it, and a read's 64 KiB that
  // the peer mostly leaves unwritten would then be 16 pages touched (each a
  // page fault in a worker just forked) where the bytes read touch one.
  std::unique_ptr<char[]> buf_;
  std::size_t capacity_ = 0;
  std::size_t start_ = 0;  // consumed bytes at the front of buf_
  std::size_t end_ = 0;  // bytes of buf_ in use
  std::uint64_t announced_ = 0;
};

// Parses one payload into f. False if the bytes are not a Frame.
bool parse_frame(std::string_view payload, frame& f);

}  // namespace weft::wire
