// tests/wire/link_test.cpp: wire::link's sending side (design in
// src/wire/link.hpp): senders write through when nothing else is being
// written and queue otherwise, and either way every frame arrives once, in
// each sender's order, even when frames outgrow the socket's buffers and
// writes are cut short; close_when_flushed lets the last frames out first;
// many goroutines' frames sent while they all wait to run leave together.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "testing.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/link.hpp"
#include <weft/net.hpp>
#include <weft/weft.hpp>

#include "weft_test_util.hpp"

namespace {

using weft::wire::frame;

struct linked_pair {
  std::unique_ptr<weft::wire::link> out, in;
};

linked_pair connect_pair() {
  weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
  weft::net::conn c = weft::net::dial("tcp", ln.address());
  weft::net::conn s = ln.accept();
  return {std::make_unique<weft::wire::link>(std::move(c), "the receiver"),
          std::make_unique<weft::wire::link>(std::move(s), "the sender")};
}

// The link's writer goroutine; `done` counts it.
void start_writer(weft::wire::link& l, weft::wait_group& done) {
  done.add(1);
  weft::go([&] {
    l.write_loop();
    done.done();
  });
}

// Sender k's frame number i: its id says who and which; its size varies up
// to 20 KB: a loopback socket fills now and then, and writes are cut short
// (below the outbox's 64 MiB bound in all: 6 senders' 400 frames).
frame numbered(std::uint64_t k, std::uint64_t i) {
  frame f;
  f.set_id(k << 32 | i);
  f.mutable_error()->set_message(std::string((i * 7919 + k * 104729) % 20'000, 'x'));
  return f;
}

class LinkProcs : public testing::TestWithParam<int> {};

TEST_P(LinkProcs, ManySendersLoseNothingAndKeepTheirOrder) {
  constexpr std::uint64_t senders = 6, per_sender = 400;
  std::vector<std::uint64_t> next(senders, 0);
  std::uint64_t received = 0, out_of_order = 0;
  weft::run(
      [&] {
        linked_pair p = connect_pair();
        weft::wait_group writer;
        start_writer(*p.out, writer);
        weft::wait_group readers;
        readers.add(1);
        weft::go([&] {
          frame f;
          while (received < senders * per_sender && p.in->receive(f)) {
            std::uint64_t k = f.id() >> 32, i = f.id() & 0xffffffff;
            if (k >= senders || i != next[k] || f.error().message() != numbered(k, i).error().message()) {
              ++out_of_order;
            } else {
              ++next[k];
            }
            ++received;
          }
          readers.done();
        });
        weft::wait_group sending;
        for (std::uint64_t k = 0; k < senders; ++k) {
          sending.add(1);
          weft::go([&, k] {
            for (std::uint64_t i = 0; i < per_sender; ++i) {
              p.out->send(numbered(k, i));
              if (i % 16 == 0) weft::this_goroutine::yield();
            }
            sending.done();
          });
        }
        sending.wait();
        readers.wait();
        p.out->close();
        writer.wait();
        p.in->close();
      },
      weft::options{.procs = GetParam()});
  EXPECT_EQ(received, senders * per_sender);
  EXPECT_EQ(out_of_order, 0u) << "a frame came out of its sender's order, twice, or changed";
  for (std::uint64_t k = 0; k < senders; ++k) EXPECT_EQ(next[k], per_sender) << "sender " << k;
}

TEST_P(LinkProcs, CloseWhenFlushedSendsWhatWasQueuedFirst) {
  constexpr std::uint64_t frames = 200;
  std::uint64_t got = 0;
  bool ended = false;
  weft::run(
      [&] {
        linked_pair p = connect_pair();
        weft::wait_group writer;
        start_writer(*p.out, writer);
        for (std::uint64_t i = 0; i < frames; ++i) p.out->send(numbered(0, i));
        p.out->close_when_flushed();
        frame f;
        while (p.in->receive(f)) {
          if (f.id() == got) ++got;
        }
        ended = true;
        writer.wait();
        p.in->close();
      },
      weft::options{.procs = GetParam()});
  EXPECT_EQ(got, frames) << "every frame sent before close_when_flushed arrives, in order";
  EXPECT_TRUE(ended) << "then the connection ends";
}

// 64 goroutines, runnable together on one P, each send a frame (as 64
// callers do when a burst of replies wakes them): while others wait to
// run, a frame goes to the outbox and the writer runs after them, so the
// frames leave in a few writes, not one system call each. The writes are
// counted at the platform's fault point, armed to pass every byte.
TEST(Link, FramesOfGoroutinesThatWaitToRunLeaveInFewWrites) {
  constexpr int senders = 64;
  constexpr int armed = 1 << 20;
  int got = 0, writes = 0;
  weft::run(
      [&] {
        linked_pair p = connect_pair();
        weft::wait_group writer;
        start_writer(*p.out, writer);
        weft::chan<int> gate;
        weft::wait_group sending;
        for (int k = 0; k < senders; ++k) {
          sending.add(1);
          weft::go([&, gate, k]() mutable {
            gate.recv();  // closed below: every sender is readied at once
            p.out->send(numbered(0, static_cast<std::uint64_t>(k) % 8));
            sending.done();
          });
        }
        weft::this_goroutine::yield();  // each is parked on the gate
        frame f;
        for (std::uint64_t i = 0; i < 16; ++i) {  // a link's first 16 sends write directly (link.hpp)
          p.out->send(numbered(1, i));
          ASSERT_TRUE(p.in->receive(f));
        }
        weft::testing::fault_scope scope;
        weft::testing::inject_faults(weft::testing::fault_point::write, armed, 0, std::size_t{1} << 30);
        gate.close();
        sending.wait();
        while (got < senders && p.in->receive(f)) ++got;
        writes = armed - weft::testing::faults_left(weft::testing::fault_point::write);
        p.out->close();
        writer.wait();
        p.in->close();
      },
      weft::options{.procs = 1});
  EXPECT_EQ(got, senders);
  EXPECT_GE(writes, 1);
  EXPECT_LE(writes, 8) << "one write per frame is " << senders;
}

// Sends frame i on p.out while another goroutine waits to run on this P
// and receives it on p.in. That goroutine sends nothing; it looks at the
// link's bytes written: true if the frame was not yet written when it
// ran (deferred until after it), false if it was written directly.
bool deferred_past_a_waiting_goroutine(linked_pair& p, std::uint64_t i) {
  const std::uint64_t before = p.out->bytes_out();
  bool deferred = false;
  weft::wait_group other;
  other.add(1);
  weft::go([&] {
    deferred = p.out->bytes_out() == before;
    other.done();
  });
  p.out->send(numbered(0, i));
  frame f;
  EXPECT_TRUE(p.in->receive(f));
  EXPECT_EQ(f.id(), i);
  other.wait();
  return deferred;
}

// How many of a new link's first n sends, each made as above, were
// deferred (procs 1).
int deferred_of_a_new_links_sends(int n) {
  int deferred = 0;
  weft::run(
      [&] {
        linked_pair p = connect_pair();
        weft::wait_group writer;
        start_writer(*p.out, writer);
        for (int i = 0; i < n; ++i) deferred += deferred_past_a_waiting_goroutine(p, static_cast<std::uint64_t>(i)) ? 1 : 0;
        p.out->close();
        writer.wait();
        p.in->close();
      },
      weft::options{.procs = 1});
  return deferred;
}

// A link's first sends write directly even while other goroutines wait to
// run (a worker's start, job and result: deferring would only make them
// later).
TEST(Link, ALinksFirstSendsWriteDirectly) {
  EXPECT_EQ(deferred_of_a_new_links_sends(16), 0) << "of a link's first 16 sends, made while another goroutine waited to run";
}

// Deferring does not pay when the goroutines that run meanwhile send
// nothing on this link (a server's other connections): after a few
// deferred writes of one frame each, sends write directly again. Each of
// 200 sends is made while another goroutine waits to run, which looks at
// the link's bytes written: it sees the frame gone when it was written
// directly, not yet when it was deferred until after it.
TEST(Link, DeferringThatCarriesOneFrameEachStops) {
  constexpr int rounds = 200;
  const int deferred = deferred_of_a_new_links_sends(rounds);
  EXPECT_GE(deferred, 1) << "no send was deferred: the case tests nothing";
  EXPECT_LE(deferred, 10) << "of " << rounds << " sends";
}

TEST(Link, AFrameTooLargeToSendLeavesTheLinkUsable) {
  std::uint64_t got_id = 0;
  weft::run([&] {
    weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
    weft::wire::link out(weft::net::dial("tcp", ln.address()), "the receiver", 4096);
    weft::wire::link in(ln.accept(), "the sender");
    weft::wait_group writer;
    start_writer(out, writer);
    frame big;
    big.mutable_error()->set_message(std::string(8192, 'x'));  // above the link's 4096
    EXPECT_THROW(out.send(big), std::length_error);
    frame small;
    small.set_id(5);
    out.send(small);  // a later send still writes: the failed one gave the write back
    frame f;
    ASSERT_TRUE(in.receive(f));
    got_id = f.id();
    out.close();
    writer.wait();
    in.close();
  });
  EXPECT_EQ(got_id, 5u);
}

INSTANTIATE_TEST_SUITE_P(Procs, LinkProcs, ::testing::ValuesIn(weft_test::all_procs()), weft_test::procs_name);

}  // namespace
