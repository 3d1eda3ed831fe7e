// src/server/chan_host under many clients: exact counts.
//
// A seeded simulation drives one channel with producers and consumers in
// every mode, accepting and declining offers at random, cancelling, and
// disconnecting mid-request; at the end every completed send was received
// exactly once, no value twice, each producer's values in the order it
// sent them, and the budget is back at zero. Then the same with real
// goroutines in parallel (procs 1 and 4).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include <weft/codec.hpp>

#include "server/chan_host.hpp"
#include "server/server_testing.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace server_testing;
using weft::server::budget;
using weft::server::chan_host;
using weft::server::hosted_chan;

constexpr std::int64_t stride = 1'000'000;  // value = producer * stride + seq

struct request {
  std::uint64_t id = 0;
  bool offered = false;
  bool cancelled = false;
  std::string offered_value = {};
};

// Frames from every client land in one list, in the order they were
// posted: one call may serve several receivers, and the order they were
// served in is what FIFO is about.
struct posted {
  const weft::server::client* to;
  frame f;
};
class sim_client final : public weft::server::client {
 public:
  explicit sim_client(std::vector<posted>* out) : out_(out) {}
  void post(const frame& f) noexcept override { out_->push_back(posted{this, f}); }

 private:
  std::vector<posted>* out_;
};

struct actor {
  std::unique_ptr<sim_client> r;
  bool producer = false;
  std::int64_t index = 0;
  std::int64_t seq = 0;
  bool closed = false;
  std::optional<request> out = std::nullopt;
};

class simulation {
 public:
  simulation(std::uint64_t capacity, unsigned seed) : rng_(seed) {
    ch_ = host_.open("sim", "i64", true, capacity).chan;
    for (int i = 0; i < 4; ++i) actors_.push_back(actor{std::make_unique<sim_client>(&posted_), true, i});
    for (int i = 0; i < 4; ++i) actors_.push_back(actor{std::make_unique<sim_client>(&posted_), false, i});
  }

  void run(int steps) {
    for (int s = 0; s < steps; ++s) step(actors_[pick(actors_.size())]);
    finish();
    check();
  }

 private:
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  v1::Mode any_mode() { return static_cast<v1::Mode>(1 + pick(4)); }

  void step(actor& a) {
    if (a.closed) return;
    if (chance(0.005)) return disconnect(a);
    if (!a.out) return issue(a, any_mode());
    if (a.out->offered) return answer(a, chance(a.producer ? 0.7 : 0.6));
    if (!a.out->cancelled && chance(0.1)) {
      a.out->cancelled = true;
      ch_->cancel(*a.r, a.out->id);
      drain();
    }
  }

  void issue(actor& a, v1::Mode m) {
    a.out = request{++ids_};
    if (a.producer) {
      ch_->send(*a.r, a.out->id, weft::encode<std::int64_t>(a.index * stride + a.seq), m);
    } else {
      ch_->recv(*a.r, a.out->id, m);
    }
    drain();
  }

  void answer(actor& a, bool accept) {
    request rq = *a.out;
    a.out.reset();
    ASSERT_TRUE(ch_->offer_reply(*a.r, rq.id, accept));
    if (accept && a.producer) completed_.insert(a.index * stride + a.seq++);
    if (accept && !a.producer) received(weft::decode<std::int64_t>(rq.offered_value));
    drain();
  }

  void disconnect(actor& a) {
    if (a.producer && a.out && !a.out->offered) unknown_.insert(a.index * stride + a.seq);
    if (a.producer && a.out) ++a.seq;  // its fate is unknown: never reuse the value
    ch_->drop(*a.r);
    drain();  // before the recorder goes: what it was told counts
    a.r = std::make_unique<sim_client>(&posted_);
    a.out.reset();
  }

  void received(std::int64_t v) {
    ++times_[v];
    order_.push_back(v);
  }

  // Applies every frame posted so far to its actor's state, in post order.
  void drain() {
    std::vector<posted> batch;
    batch.swap(posted_);
    for (const posted& p : batch) {
      actor* to = nullptr;
      for (actor& a : actors_) {
        if (a.r.get() == p.to) to = &a;
      }
      if (!to) continue;  // the closer
      apply(*to, p.f);
    }
  }

  void apply(actor& a, const frame& f) {
    ASSERT_TRUE(a.out && a.out->id == f.id()) << "reply to no outstanding request: " << f.ShortDebugString();
    if (f.has_offer()) {
      ASSERT_FALSE(a.out->offered);
      a.out->offered = true;
      a.out->offered_value = f.offer().value();
      return;
    }
    if (f.has_error()) {
      ASSERT_EQ(f.error().code(), v1::Error::CANCELLED) << f.ShortDebugString();
      ASSERT_TRUE(a.out->cancelled);
    } else {
      ASSERT_TRUE(f.has_chan_done()) << f.ShortDebugString();
      auto st = f.chan_done().status();
      if (st == v1::ChanDone::DONE && a.producer) completed_.insert(a.index * stride + a.seq++);
      if (st == v1::ChanDone::DONE && !a.producer) received(weft::decode<std::int64_t>(f.chan_done().value()));
      if (st == v1::ChanDone::CLOSED) a.closed = true;
    }
    a.out.reset();
  }

  // Producers stop; the channel closes; consumers drain it until CLOSED.
  void finish() {
    // A decline may offer the room to the next waiting producer: repeat.
    for (bool again = true; again;) {
      again = false;
      for (actor& a : actors_) {
        if (a.producer && a.out && a.out->offered) {
          answer(a, false);
          again = true;
        }
      }
    }
    for (actor& a : actors_) {
      if (a.producer) a.closed = true;
    }
    sim_client closer(&posted_);
    ch_->close(closer, 1);
    drain();
    for (int round = 0; round < 100000; ++round) {
      bool open = false;
      for (actor& a : actors_) {
        if (a.producer || a.closed) continue;
        open = true;
        if (!a.out) {
          issue(a, v1::WAIT);
        } else if (a.out->offered) {
          answer(a, true);
        }
      }
      if (!open) break;
    }
    for (actor& a : actors_) {
      if (!a.producer) {
        ASSERT_TRUE(a.closed) << "a consumer never saw CLOSED";
      }
      ch_->drop(*a.r);
    }
  }

  void check() {
    for (const auto& [v, n] : times_) {
      ASSERT_EQ(n, 1) << "value " << v << " received " << n << " times";
      ASSERT_TRUE(completed_.count(v) || unknown_.count(v)) << "value " << v << " received but never sent";
    }
    for (std::int64_t v : completed_) ASSERT_EQ(times_.count(v), 1u) << "completed send " << v << " was lost";
    std::map<std::int64_t, std::int64_t> last;
    for (std::int64_t v : order_) {
      if (!completed_.count(v)) continue;
      std::int64_t p = v / stride;
      auto it = last.find(p);
      ASSERT_TRUE(it == last.end() || it->second < v) << "producer " << p << ": " << v << " after " << it->second;
      last[p] = v;
    }
    EXPECT_GT(completed_.size(), 100u);  // the run did something
    ch_.reset();
    host_.remove("sim");
    EXPECT_EQ(values_.used(), 0u) << "the channel still holds bytes nobody can reach";
  }

  std::mt19937 rng_;
  budget values_{1u << 30};
  chan_host host_{&values_};
  std::shared_ptr<hosted_chan> ch_;
  std::vector<actor> actors_;
  std::uint64_t ids_ = 0;
  std::set<std::int64_t> completed_, unknown_;
  std::map<std::int64_t, int> times_;
  std::vector<std::int64_t> order_;
  std::vector<posted> posted_;
};

TEST(ChanHostSimulation, EveryModeOffersCancelsAndDisconnectsLoseAndDuplicateNothing) {
  for (std::uint64_t cap : {0u, 1u, 3u}) {
    for (unsigned seed = 1; seed <= 6; ++seed) {
      SCOPED_TRACE("capacity " + std::to_string(cap) + " seed " + std::to_string(seed));
      simulation(cap, seed).run(weft_test::quartered(20000));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Goroutines in parallel: producers send (WAIT, or OFFER with declines and
// retries), consumers receive (WAIT, or OFFER accepting at random).
void concurrent(std::uint64_t capacity) {
  budget values(1u << 30);
  chan_host host(&values);
  auto ch = host.open("c", "i64", true, capacity).chan;
  constexpr int producers = 4, consumers = 4;
  const int each = weft_test::quartered(1000);
  std::vector<std::vector<std::int64_t>> got(consumers);
  // Inboxes outlive the goroutines (server_testing.hpp says why).
  std::vector<inbox> boxes(producers + consumers);
  weft::wait_group sent, drained;
  for (int p = 0; p < producers; ++p) {
    sent.add(1);
    weft::go([&, p] {
      struct guard {
        weft::wait_group& wg;
        ~guard() { wg.done(); }
      } g{sent};  // an ASSERT that returns early must not hang the test
      inbox& me = boxes[static_cast<std::size_t>(p)];
      std::mt19937 rng(static_cast<unsigned>(p));
      std::uint64_t id = 0;
      for (int i = 0; i < each;) {
        bool offer = rng() % 2 == 0;
        ch->send(me, ++id, weft::encode<std::int64_t>(p * stride + i), offer ? v1::OFFER : v1::WAIT);
        frame f = me.take();
        if (f.has_offer()) {
          bool accept = rng() % 10 < 7;
          ASSERT_TRUE(ch->offer_reply(me, id, accept));
          if (accept) ++i;
          continue;
        }
        ASSERT_EQ(done_status(f), "DONE");
        ++i;
      }
    });
  }
  for (int k = 0; k < consumers; ++k) {
    drained.add(1);
    weft::go([&, k] {
      struct guard {
        weft::wait_group& wg;
        ~guard() { wg.done(); }
      } g{drained};
      inbox& me = boxes[static_cast<std::size_t>(producers + k)];
      std::mt19937 rng(static_cast<unsigned>(100 + k));
      std::uint64_t id = 0;
      for (;;) {
        bool offer = rng() % 2 == 0;
        ch->recv(me, ++id, offer ? v1::OFFER : v1::WAIT);
        frame f = me.take();
        if (f.has_offer()) {
          bool accept = rng() % 10 < 6;
          ASSERT_TRUE(ch->offer_reply(me, id, accept));
          if (accept) got[static_cast<std::size_t>(k)].push_back(weft::decode<std::int64_t>(f.offer().value()));
          continue;
        }
        if (done_status(f) == "CLOSED") break;
        ASSERT_EQ(done_status(f), "DONE");
        got[static_cast<std::size_t>(k)].push_back(weft::decode<std::int64_t>(f.chan_done().value()));
      }
    });
  }
  sent.wait();
  recorder closer;
  ch->close(closer, 1);
  drained.wait();
  std::vector<std::int64_t> all;
  for (const auto& g : got) {
    std::map<std::int64_t, std::int64_t> last;  // each producer's values in order, per consumer
    for (std::int64_t v : g) {
      auto it = last.find(v / stride);
      ASSERT_TRUE(it == last.end() || it->second < v);
      last[v / stride] = v;
    }
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(producers * each));
  std::size_t n = 0;
  for (int p = 0; p < producers; ++p)
    for (int i = 0; i < each; ++i) ASSERT_EQ(all[n++], p * stride + i);
  ch.reset();
  host.remove("c");
  EXPECT_EQ(values.used(), 0u);
}

class ChanHostConcurrent : public ::testing::TestWithParam<int> {};

TEST_P(ChanHostConcurrent, CountsAreExact) {
  weft::run(
      [] {
        // (No SCOPED_TRACE: gtest keeps it per thread, and a goroutine
        // may end on another thread than it started.)
        for (std::uint64_t cap : {0u, 1u, 16u}) concurrent(cap);
      },
      weft_test::procs_opt(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Procs, ChanHostConcurrent, ::testing::Values(1, 4), weft_test::procs_name);

}  // namespace
