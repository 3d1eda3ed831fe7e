// tests/circuit/xref_test_types.hpp: the types the cross-reference tests
// call across processes, registered (WEFT_CROSS) in the test programs and
// in xref_peer_prog alike: both binaries must agree on them.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/weft.hpp>
#include <weft/xref.hpp>

#include "circuit/xref_testing.hpp"

namespace xref_test {

struct counter {
  std::atomic<int> n{0};
#ifndef XREF_TEST_OTHER_ADD
  int add(int d) { return n.fetch_add(d) + d; }
#else
  // xref_peer_prog_other: a binary whose add has another signature.
  long long add(long long d) { return n.fetch_add(static_cast<int>(d)) + d; }
#endif
  int get() const { return n.load(); }
  int fail(std::string what) { throw std::out_of_range(what); }
  // Sleeps ms, then returns v.
  int slow(int ms, int v) {
    weft::this_goroutine::sleep_for(std::chrono::milliseconds(ms));
    return v;
  }
};
WEFT_CROSS(counter, add, get, fail, slow);

// Holds xrefs for the test, makes counters in its process, and reports
// that process's counts.
struct keeper {
  weft::mutex mu;
  std::vector<weft::xref<counter>> kept;

  int keep(weft::xref<counter> x) {
    std::lock_guard lk(mu);
    kept.push_back(std::move(x));
    return static_cast<int>(kept.size());
  }
  void drop_all() {
    std::vector<weft::xref<counter>> gone;
    std::lock_guard lk(mu);
    gone.swap(kept);
  }
  // Calls the kept xref i from this process (a third party's call).
  int add_via(int i, int d) {
    weft::xref<counter> x;
    {
      std::lock_guard lk(mu);
      x = kept.at(static_cast<std::size_t>(i));
    }
    return x.call<&counter::add>(d).get();
  }
  weft::xref<counter> make(int start) {
    auto c = std::make_shared<counter>();
    c->n = start;
    return weft::ref(c);
  }
  std::int64_t live() { return static_cast<std::int64_t>(weft::circuit::testing::live_exports()); }
  std::int64_t dialed() { return static_cast<std::int64_t>(weft::circuit::testing::links_dialed()); }
  std::int64_t accepted() { return static_cast<std::int64_t>(weft::circuit::testing::links_accepted()); }
  std::string address() { return weft::circuit::detail::self_address(); }
};
WEFT_CROSS(keeper, keep, drop_all, add_via, make, live, dialed, accepted, address);

}  // namespace xref_test
