// tests/chan/chan_types_test.cpp: what channels carry and how they are
// shared: copies of a channel, equality, move-only, large and throwing
// element types (no value lost or duplicated), misuse and nil channels.
// Delivery, blocking and close are in chan_test.cpp.
// The concurrent cases run under procs 1, 2, 4 and 8.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using weft_test::count_parked;
using weft_test::named;
using weft_test::procs_name;
using weft_test::procs_opt;
using weft_test::wait_parked;

using namespace std::chrono_literals;

using weft_test::quartered;

class ChanProcs : public ::testing::TestWithParam<int> {};

// ---------------------------------------------------------------------------
// Sharing and comparison

TEST(Chan, CopiesShareTheChannel) {
  weft::run([] {
    weft::chan<int> a(2);
    weft::chan<int> b = a;
    weft::chan<int> c;
    c = b;
    EXPECT_TRUE(a == b);
    EXPECT_TRUE(b == c);
    b.send(5);
    EXPECT_EQ(a.size(), 1u);
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(a.recv(), std::optional<int>(5));
    c.send(6);
    b.close();
    EXPECT_EQ(a.recv(), std::optional<int>(6));
    EXPECT_EQ(a.recv(), std::nullopt) << "closed through a copy";
    EXPECT_THROW(c.close(), std::logic_error);

    // A copy keeps the channel alive after the original is gone.
    weft::chan<int> keep = nullptr;
    {
      weft::chan<int> tmp(1);
      tmp.send(9);
      keep = tmp;
    }
    EXPECT_EQ(keep.recv(), std::optional<int>(9));

    // A goroutine given a copy by value talks to the same channel.
    weft::chan<int> d;
    weft::go([](weft::chan<int> copy) { copy.send(77); }, d);
    EXPECT_EQ(d.recv(), std::optional<int>(77));
  });
}

TEST(Chan, Equality) {
  weft::run([] {
    weft::chan<int> a;
    weft::chan<int> b;
    weft::chan<int> a2 = a;
    weft::chan<int> n1 = nullptr;
    weft::chan<int> n2 = nullptr;
    EXPECT_TRUE(a == a);
    EXPECT_TRUE(a == a2);
    EXPECT_FALSE(a == b) << "two made channels are distinct";
    EXPECT_TRUE(a != b);
    EXPECT_TRUE(n1 == n2) << "nil equals nil";
    EXPECT_TRUE(n1 == nullptr);
    EXPECT_FALSE(a == nullptr);
    EXPECT_FALSE(a == n1);
    weft::chan<int> moved = std::move(a2);
    EXPECT_TRUE(moved == a);
    b = a;
    EXPECT_TRUE(b == a);
  });
}

// ---------------------------------------------------------------------------
// Element types

TEST_P(ChanProcs, MoveOnlyElements) {
  const int procs = GetParam();
  const int n = quartered(1000);
  for (int cap : {0, 1, 8}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<int> got;
    int nulls = 0;
    weft::run(
        [&] {
          weft::chan<std::unique_ptr<int>> c(static_cast<std::size_t>(cap));
          weft::go([&] {
            for (int k = 0; k < n; ++k) c.send(std::make_unique<int>(k));
            c.close();
          });
          for (std::unique_ptr<int> p : c) {
            if (!p) { ++nulls; continue; }
            got.push_back(*p);
          }
        },
        procs_opt(procs));
    EXPECT_EQ(nulls, 0);
    std::vector<int> want(static_cast<std::size_t>(n));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
  }
}

TEST(Chan, MoveOnlyTryOpsAndRecv) {
  weft::run([] {
    weft::chan<std::unique_ptr<int>> c(2);
    EXPECT_TRUE(c.try_send(std::make_unique<int>(1)));
    c.send(std::make_unique<int>(2));
    EXPECT_FALSE(c.try_send(std::make_unique<int>(3)));
    std::optional<std::unique_ptr<int>> a = c.try_recv();
    ASSERT_TRUE(a.has_value());
    ASSERT_NE(*a, nullptr);
    EXPECT_EQ(**a, 1);
    std::optional<std::unique_ptr<int>> b = c.recv();
    ASSERT_TRUE(b.has_value());
    ASSERT_NE(*b, nullptr);
    EXPECT_EQ(**b, 2);
    c.close();
    EXPECT_EQ(c.recv(), std::nullopt);
  });
}

using Big = std::array<char, 4096>;

Big make_big(int id) {
  Big b;
  for (std::size_t j = 0; j < b.size(); ++j) b[j] = static_cast<char>((id * 31 + static_cast<int>(j) * 7) % 251);
  b[0] = static_cast<char>(id & 0x7f);
  b[1] = static_cast<char>((id >> 7) & 0x7f);
  return b;
}

int big_id(const Big& b) { return static_cast<int>(b[0]) | (static_cast<int>(b[1]) << 7); }

TEST_P(ChanProcs, LargeElements) {
  const int procs = GetParam();
  const int per = quartered(200);
  constexpr int kSenders = 2, kReceivers = 2;
  for (int cap : {0, 2, 32}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    std::vector<std::vector<int>> got(kReceivers);
    std::atomic<int> corrupt{0};
    weft::run(
        [&] {
          weft::chan<Big> c(static_cast<std::size_t>(cap));
          weft::wait_group senders, receivers;
          senders.add(kSenders);
          receivers.add(kReceivers);
          for (int s = 0; s < kSenders; ++s) {
            weft::go([&, s] {
              for (int k = 0; k < per; ++k) c.send(make_big(s * per + k));
              senders.done();
            });
          }
          for (int r = 0; r < kReceivers; ++r) {
            weft::go([&, r] {
              for (const Big& b : c) {
                int id = big_id(b);
                if (b != make_big(id)) ++corrupt;
                got[static_cast<std::size_t>(r)].push_back(id);
              }
              receivers.done();
            });
          }
          senders.wait();
          c.close();
          receivers.wait();
        },
        procs_opt(procs));
    EXPECT_EQ(corrupt.load(), 0);
    std::vector<int> all;
    for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
    std::sort(all.begin(), all.end());
    std::vector<int> want(static_cast<std::size_t>(kSenders * per));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(all, want);
  }
}

// A type whose copy constructor throws every third time, and which keeps a
// ledger of the addresses of its live objects: every object constructed must
// be destroyed exactly once.
struct copy_failure : std::runtime_error {
  copy_failure() : std::runtime_error("copy failed") {}
};

struct ledger {
  std::mutex mu;
  std::unordered_set<const void*> live;
  long constructed = 0;
  long destroyed = 0;
  long errors = 0;  // constructed twice at a live address, or destroyed while not live
  std::atomic<long> copy_attempts{0};
  std::atomic<long> copy_throws{0};

  void born(const void* p) {
    std::lock_guard lk(mu);
    ++constructed;
    if (!live.insert(p).second) ++errors;
  }
  void died(const void* p) {
    std::lock_guard lk(mu);
    ++destroyed;
    if (live.erase(p) != 1) ++errors;
  }
  void reset() {
    std::lock_guard lk(mu);
    live.clear();
    constructed = destroyed = errors = 0;
    copy_attempts = 0;
    copy_throws = 0;
  }
};

template <bool NothrowMove>
struct Tracked {
  static ledger& book() {
    static ledger l;
    return l;
  }
  int id;
  bool valid = true;  // false once moved from

  explicit Tracked(int i) : id(i) { book().born(this); }
  Tracked(const Tracked& o) : id(o.id), valid(o.valid) {
    if (book().copy_attempts.fetch_add(1) % 3 == 2) {
      ++book().copy_throws;
      throw copy_failure();
    }
    book().born(this);
  }
  Tracked(Tracked&& o) noexcept(NothrowMove) : id(o.id), valid(o.valid) {
    o.valid = false;
    book().born(this);
  }
  Tracked& operator=(const Tracked&) = delete;
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { book().died(this); }
};

static_assert(std::is_nothrow_move_constructible_v<Tracked<true>>);
static_assert(!std::is_nothrow_move_constructible_v<Tracked<false>>);

template <bool NothrowMove>
void throwing_copies(int procs) {
  using T = Tracked<NothrowMove>;
  constexpr int kSenders = 3, kReceivers = 3;
  const int per = quartered(300);
  for (int cap : {0, 1, 7}) {
    SCOPED_TRACE("capacity " + std::to_string(cap));
    T::book().reset();
    std::vector<std::vector<int>> got(kReceivers);
    std::atomic<int> invalid{0};
    std::atomic<long> caught{0};
    weft::run(
        [&] {
          weft::chan<T> c(static_cast<std::size_t>(cap));
          weft::wait_group senders, receivers;
          senders.add(kSenders);
          receivers.add(kReceivers);
          for (int s = 0; s < kSenders; ++s) {
            weft::go([&, s] {
              for (int k = 0; k < per; ++k) {
                T original(s * per + k);
                for (;;) {
                  try {
                    c.send(original);  // the copy into send's parameter may throw, here
                    break;
                  } catch (const copy_failure&) {
                    ++caught;
                  }
                }
              }
              senders.done();
            });
          }
          for (int r = 0; r < kReceivers; ++r) {
            weft::go([&, r] {
              while (std::optional<T> v = c.recv()) {
                if (!v->valid) ++invalid;
                got[static_cast<std::size_t>(r)].push_back(v->id);
              }
              receivers.done();
            });
          }
          senders.wait();
          c.close();
          receivers.wait();
        },
        procs_opt(procs));
    ledger& l = T::book();
    EXPECT_GT(caught.load(), 0) << "no copy threw: the test did not test anything";
    EXPECT_EQ(caught.load(), l.copy_throws.load()) << "a copy threw outside the senders' call sites";
    EXPECT_EQ(invalid.load(), 0) << "received a moved-from object";
    std::vector<int> all;
    for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
    std::sort(all.begin(), all.end());
    std::vector<int> want(static_cast<std::size_t>(kSenders * per));
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(all, want) << "values lost or duplicated";
    std::lock_guard lk(l.mu);
    EXPECT_EQ(l.errors, 0) << "an object was constructed over a live one or destroyed twice";
    EXPECT_EQ(l.constructed, l.destroyed);
    EXPECT_TRUE(l.live.empty()) << l.live.size() << " objects never destroyed";
  }
}

TEST_P(ChanProcs, ThrowingCopyNothrowMove) { throwing_copies<true>(GetParam()); }
TEST_P(ChanProcs, ThrowingCopyThrowingMove) { throwing_copies<false>(GetParam()); }

TEST(Chan, ThrowingCopyLeavesChannelUntouched) {
  using T = Tracked<true>;
  T::book().reset();
  weft::run([] {
    weft::chan<T> c(4);
    T a(1);
    int throws = 0;
    for (int i = 0; i < 6; ++i) {
      try {
        c.send(a);
      } catch (const copy_failure&) {
        ++throws;
      }
    }
    EXPECT_EQ(throws, 2);  // copies 3 and 6
    EXPECT_EQ(c.size(), 4u) << "exactly the sends that did not throw went in";
    c.close();
    int n = 0;
    while (std::optional<T> v = c.recv()) {
      EXPECT_TRUE(v->valid);
      EXPECT_EQ(v->id, 1);
      ++n;
    }
    EXPECT_EQ(n, 4);
  });
  std::lock_guard lk(T::book().mu);
  EXPECT_EQ(T::book().errors, 0);
  EXPECT_EQ(T::book().constructed, T::book().destroyed);
  EXPECT_TRUE(T::book().live.empty());
}

// ---------------------------------------------------------------------------
// Misuse and nil channels

TEST(Chan, CloseOfClosedChannelThrows) {
  weft::run([] {
    for (std::size_t cap : {std::size_t{0}, std::size_t{3}}) {
      weft::chan<int> c(cap);
      c.close();
      try {
        c.close();
        ADD_FAILURE() << "second close returned";
      } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("close of closed channel"), std::string::npos) << e.what();
      }
      // Still closed, still usable as a closed channel.
      EXPECT_EQ(c.recv(), std::nullopt);
    }
  });
}

TEST(Chan, CloseOfNilChannelThrows) {
  weft::run([] {
    weft::chan<int> c = nullptr;
    try {
      c.close();
      ADD_FAILURE() << "close of a nil channel returned";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("close of nil channel"), std::string::npos) << e.what();
    }
  });
}

TEST(Chan, NilChannelTryOps) {
  weft::run([] {
    weft::chan<int> c = nullptr;
    EXPECT_TRUE(c == nullptr);
    EXPECT_FALSE(c.try_send(1));
    EXPECT_EQ(c.try_recv(), std::nullopt);
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.capacity(), 0u);
    weft::chan<std::unique_ptr<int>> m = nullptr;
    EXPECT_FALSE(m.try_send(std::make_unique<int>(1)));
    EXPECT_EQ(m.try_recv(), std::nullopt);
  });
}

TEST(Chan, NilChannelBlocksForever) {
  // Goroutines blocked on a nil channel stay blocked; main's return abandons
  // them, as in Go.
  std::atomic<int> returned{0};
  weft::run(
      [&] {
        weft::chan<int> c = nullptr;
        weft::go(named("nil-recv"), [&returned, c]() mutable {
          (void)c.recv();
          ++returned;
        });
        weft::go(named("nil-send"), [&returned, c]() mutable {
          c.send(1);
          ++returned;
        });
        // Something else to do with a timer armed, so the runtime is never
        // "all asleep" while we watch.
        EXPECT_TRUE(wait_parked("nil-recv", 1));
        EXPECT_TRUE(wait_parked("nil-send", 1));
        weft::this_goroutine::sleep_for(20ms);
        EXPECT_EQ(returned.load(), 0);
      },
      procs_opt(2));
  EXPECT_EQ(returned.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Procs, ChanProcs, ::testing::Values(1, 2, 4, 8), procs_name);

// Issue 11, defect 5: a capacity whose buffer size overflows constructed a
// tiny buffer that sends then wrote past. It must throw, as Go's makechan
// panics ("makechan: size out of range").
TEST(ChanCapacity, OverflowingBufferSizeThrows) {
  EXPECT_THROW(weft::chan<int>(SIZE_MAX), std::length_error);
  EXPECT_THROW(weft::chan<int>(SIZE_MAX / 2), std::length_error);
  using big = std::array<char, 4096>;
  EXPECT_THROW(weft::chan<big>(SIZE_MAX / 1024), std::length_error);
  try {
    weft::chan<int> c(SIZE_MAX);
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("makechan: size out of range"), std::string::npos) << e.what();
  }
  // A capacity that fits still works.
  weft::chan<int> ok(1000);
  EXPECT_EQ(ok.capacity(), 1000u);
}

}  // namespace
