// tests/server/server_testing.hpp: what the server tests share.
//
//   recorder     a host client (server/client.hpp) that keeps every frame
//                posted to it: the state machines are tested on these.
//   inbox        the same for goroutines: take() parks until a frame comes.
//   test_client  a tiny protocol client on wire::link, as a stub would be
//                (inside weft::run): a reader goroutine answers Pings and
//                queues the rest, so next() can time out.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "platform/spinlock.hpp"
#include "server/client.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/endpoint.hpp"
#include "wire/link.hpp"

namespace server_testing {

namespace v1 = weft::runtime::v1;
using weft::wire::frame;
using namespace std::chrono_literals;

class recorder final : public weft::server::client {
 public:
  void post(const frame& f) noexcept override {
    std::lock_guard lk(mu_);
    frames_.push_back(f);
  }
  // Every frame posted since the last take.
  std::vector<frame> take() {
    std::lock_guard lk(mu_);
    std::vector<frame> out(frames_.begin(), frames_.end());
    frames_.clear();
    return out;
  }
  // The one frame posted since the last take (fails the test otherwise).
  frame one() {
    std::vector<frame> fs = take();
    EXPECT_EQ(fs.size(), 1u) << describe(fs);
    return fs.empty() ? frame() : fs.front();
  }
  bool quiet() {
    std::lock_guard lk(mu_);
    return frames_.empty();
  }
  static std::string describe(const std::vector<frame>& fs) {
    std::string s;
    for (const frame& f : fs) s += f.ShortDebugString() + "\n";
    return s;
  }

 private:
  std::mutex mu_;
  std::deque<frame> frames_;
};

// A recorder a goroutine can wait on.
class inbox final : public weft::server::client {
 public:
  // Rings after unlocking: try_send is a yield point, and a goroutine
  // must not be switched out holding a spinlock another one spins on.
  // REQUIRES: the inbox outlives every goroutine that may post to it (its
  // owner may take the frame and leave before the poster has rung).
  void post(const frame& f) noexcept override {
    {
      std::lock_guard lk(lock_);
      frames_.push_back(f);
    }
    try {
      bell_.try_send(true);
    } catch (...) {
    }
  }
  frame take() {
    for (;;) {
      {
        std::lock_guard lk(lock_);
        if (!frames_.empty()) {
          frame f = std::move(frames_.front());
          frames_.pop_front();
          return f;
        }
      }
      bell_.recv();
    }
  }

 private:
  weft::detail::spinlock lock_;
  std::deque<frame> frames_;
  weft::chan<bool> bell_{1};
};

inline std::string done_status(const frame& f) {
  if (!f.has_chan_done()) return "not ChanDone: " + f.ShortDebugString();
  return v1::ChanDone::Status_Name(f.chan_done().status());
}

inline v1::Hello good_hello() {
  v1::Hello h;
  h.set_magic("weft-runtime");
  h.mutable_version()->set_major(1);
  h.mutable_version()->set_minor(0);
  h.set_role(v1::Hello::TOOL);
  h.add_required_capabilities("chan");
  return h;
}

class test_client {
 public:
  explicit test_client(const weft::wire::endpoint& e)
      : l_(std::make_shared<weft::wire::link>(weft::wire::dial(e, std::chrono::seconds(2)), "test server")) {
    start();
  }
  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;
  ~test_client() {
    l_->close();
    writer_done_.recv();
    reader_done_.recv();
  }

  void send(const frame& f) { l_->send(f); }
  void close() { l_->close(); }
  weft::wire::link& link() { return *l_; }

  // The next frame that is not a Ping; nullopt at end of stream or after
  // timeout (timed_out() tells).
  std::optional<frame> next(std::chrono::nanoseconds timeout = 5s) {
    std::optional<frame> got;
    timed_out_ = false;
    weft::select(weft::on_recv(in_, [&](std::optional<frame> f) { got = std::move(f); }),
                 weft::on_recv(weft::after(timeout), [&] { timed_out_ = true; }));
    return got;
  }
  bool timed_out() const { return timed_out_; }
  // The error the reader ended with ("" at a clean end of stream).
  std::string reader_error() { return *error_; }
  std::uint64_t pings() const { return pings_->load(); }

  // Sends Hello; the server's answer.
  std::optional<frame> handshake(const v1::Hello& h = good_hello()) {
    frame f;
    *f.mutable_hello() = h;
    send(f);
    return next();
  }
  // One request, its reply.
  std::optional<frame> call(frame f) {
    f.set_id(++ids_);
    send(f);
    return next();
  }
  std::uint64_t open_chan(const std::string& name, std::uint64_t capacity, const std::string& sig = "i64") {
    frame f;
    f.mutable_chan_open()->set_name(name);
    f.mutable_chan_open()->set_signature(sig);
    f.mutable_chan_open()->set_has_capacity(true);
    f.mutable_chan_open()->set_capacity(capacity);
    std::optional<frame> r = call(f);
    EXPECT_TRUE(r && r->has_chan_opened()) << (r ? r->ShortDebugString() : "no reply");
    return r && r->has_chan_opened() ? r->chan_opened().handle() : 0;
  }
  std::uint64_t next_id() { return ++ids_; }

 private:
  void start() {
    auto l = l_;
    auto in = in_;
    auto err = error_;
    auto pings = pings_;
    weft::go([l, done = writer_done_]() mutable {
      l->write_loop();
      done.close();
    });
    weft::go([l, in, err, pings, done = reader_done_]() mutable {
      try {
        frame f;
        while (l->receive(f)) {
          if (f.has_ping()) {
            pings->fetch_add(1);
            frame pong;
            pong.mutable_pong()->set_nonce(f.ping().nonce());
            try {
              l->send(pong);
            } catch (...) {
            }
            continue;
          }
          in.send(f);
        }
      } catch (const std::exception& e) {
        *err = e.what();
      }
      in.close();
      done.close();
    });
  }

  std::shared_ptr<weft::wire::link> l_;
  weft::chan<frame> in_{4096};
  weft::chan<bool> writer_done_, reader_done_;
  std::shared_ptr<std::string> error_ = std::make_shared<std::string>();
  std::shared_ptr<std::atomic<std::uint64_t>> pings_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::uint64_t ids_ = 0;
  bool timed_out_ = false;
};

}  // namespace server_testing
