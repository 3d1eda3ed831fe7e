// src/wire/peer_traffic.cpp: the per-peer byte table (peer_traffic.hpp).
#include "wire/peer_traffic.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <utility>

#include "platform/lock_scope.hpp"
#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"
#include "wire/link.hpp"

namespace weft::wire {

namespace {

using peer_key = std::pair<std::int64_t, std::string>;

struct totals {
  std::uint64_t out = 0, in = 0;
};

// A spinlock, not a weft::mutex: a link may go outside any goroutine (at
// the run's end), and the critical sections are a map operation each.
struct table {
  weft::detail::spinlock lock;
  std::map<const link*, peer_key> live GUARDED_BY(lock);
  std::map<peer_key, totals> retired GUARDED_BY(lock);
};

table& the_table() {
  static table* t = new table;  // never destroyed: links may go during exit
  return *t;
}

}  // namespace

void track_peer_link(const link* l, std::int64_t pid, const std::string& host) {
  table& t = the_table();
  weft::detail::lock_scope lk(t.lock);
  t.live[l] = peer_key{pid, host};
}

void untrack_peer_link(const link* l) noexcept {
  table& t = the_table();
  weft::detail::lock_scope lk(t.lock);
  auto it = t.live.find(l);
  if (it == t.live.end()) return;
  try {
    totals& r = t.retired[it->second];
    r.out += l->bytes_out();
    r.in += l->bytes_in();
  } catch (...) {}  // no memory: that link's bytes are forgotten, not double-counted (T1)
  t.live.erase(it);
}

std::vector<peer_bytes> peer_traffic() {
  std::map<peer_key, totals> sum;
  {
    table& t = the_table();
    weft::detail::lock_scope lk(t.lock);
    sum = t.retired;
    for (const auto& [l, key] : t.live) {
      totals& s = sum[key];
      s.out += l->bytes_out();
      s.in += l->bytes_in();
    }
  }
  std::vector<peer_bytes> r;
  for (const auto& [key, s] : sum)
    r.push_back(peer_bytes{.pid = key.first, .host = key.second, .out = s.out, .in = s.in});
  sort_busiest_first(r);
  return r;
}

void sort_busiest_first(std::vector<peer_bytes>& v) {
  std::sort(v.begin(), v.end(), [](const peer_bytes& a, const peer_bytes& b) { return a.out + a.in > b.out + b.in; });
}

std::string peer_host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace weft::wire
