// src/wire/peer_tally.cpp: one goroutine's bytes per peer (peer_tally.hpp).
#include "wire/peer_tally.hpp"

#include "platform/lock_scope.hpp"

namespace weft::wire {

void peer_tally::add(std::int64_t pid, const std::string& host, std::uint64_t out, std::uint64_t in) {
  weft::detail::lock_scope lk(lock_);
  auto& b = bytes_[{pid, host}];
  b.first += out;
  b.second += in;
}

std::vector<peer_bytes> peer_tally::snapshot() const {
  std::vector<peer_bytes> r;
  {
    weft::detail::lock_scope lk(lock_);
    for (const auto& [key, b] : bytes_)
      r.push_back(peer_bytes{.pid = key.first, .host = key.second, .out = b.first, .in = b.second});
  }
  sort_busiest_first(r);
  return r;
}

}  // namespace weft::wire
