// fuzz/anchor_fuzz.cpp: weftd's reading of a spawn's anchors and of a
// selector (AnchorList), both a client's bytes, on arbitrary input: no
// crash, no sanitizer report, and what clean_anchor accepts is an anchor
// (starts with '/', no empty, ".", ".." or "..." part, no trailing '/'),
// cleaning it again changes nothing, and "/..." selects every entry under it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/worker_host.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using weft::server::worker_host;
  std::string in(reinterpret_cast<const char*>(data), size);
  std::size_t cut = in.find('\n');
  std::string anchor = in.substr(0, cut);
  std::string selector = cut == std::string::npos ? std::string() : in.substr(cut + 1);
  std::string why;
  std::string clean = worker_host::clean_anchor(anchor, why);
  if (clean.empty()) {
    if (why.empty()) __builtin_trap();  // refused without a reason
  } else {
    if (clean[0] != '/') __builtin_trap();
    if (clean.size() > 1 && clean.back() == '/') __builtin_trap();
    if (clean.find("//") != std::string::npos) __builtin_trap();
    std::string again_why;
    if (worker_host::clean_anchor(clean, again_why) != clean) __builtin_trap();
    const std::string entry = clean + "/R0123456789abcdef";
    if (!worker_host::selects("/...", entry)) __builtin_trap();
    if (!worker_host::selects(clean, entry)) __builtin_trap();
  }
  (void)worker_host::selects(selector, anchor);
  return 0;
}
