// fuzz/frame_fuzz.cpp: the frame decoder and the Frame parser on arbitrary
// bytes, fed in pieces whose sizes come from the input itself: no crash, no
// sanitizer report, no frame above the limit. Each payload is parsed into
// a fresh Frame and into one reused across the input's payloads (the
// TraceEvents reuse of parse_frame).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  weft::wire::frame_decoder d(1 << 16);
  std::size_t step = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  weft::runtime::v1::Frame reused;
  for (std::size_t at = 0; at < in.size(); at += step) {
    d.feed(in.substr(at, step));
    std::string_view payload;
    for (;;) {
      auto s = d.next(&payload);
      if (s == weft::wire::frame_decoder::status::too_large) return 0;
      if (s == weft::wire::frame_decoder::status::need_more) break;
      if (payload.size() > (1u << 16)) __builtin_trap();
      weft::runtime::v1::Frame f;
      (void)weft::wire::parse_frame(payload, f);
      (void)weft::wire::parse_frame(payload, reused);
    }
  }
  return 0;
}
