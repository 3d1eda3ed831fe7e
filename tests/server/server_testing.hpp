// tests/server/server_testing.hpp: what the server tests share.
//
//   recorder     a host client (server/client.hpp) that keeps every frame
//                posted to it: the state machines are tested on these.
//   inbox        the same for goroutines: take() parks until a frame comes.
//   test_client  a tiny protocol client on wire::link, as a stub would be
//                (inside weft::run): a reader goroutine answers Pings and
//                queues the rest, so next() can time out.
//   served       a server in this process on a fresh Unix socket, its log
//                kept in log_lines.
//   stub_hello   a stub's Hello for a process of a given pid;
//   wait_listed  a tool's Control LIST until it lists n processes (the
//                control tests).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "platform/spinlock.hpp"
#include "server/client.hpp"
#include "server/server.hpp"
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

// f is an Error with code whose message contains needle.
inline void expect_error(const std::optional<frame>& f, v1::Error::Code code, const std::string& needle) {
  ASSERT_TRUE(f) << "no reply";
  ASSERT_TRUE(f->has_error()) << f->ShortDebugString();
  EXPECT_EQ(f->error().code(), code) << f->error().message();
  EXPECT_NE(f->error().message().find(needle), std::string::npos) << f->error().message();
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

struct log_lines {
  std::mutex mu;
  std::vector<std::string> lines;
  std::size_t count(const std::string& needle) {
    std::lock_guard lk(mu);
    std::size_t n = 0;
    for (const std::string& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
  std::string all() {
    std::lock_guard lk(mu);
    std::string s;
    for (const std::string& l : lines) s += l + "\n";
    return s;
  }
};

// A server in this process, on a Unix socket in a fresh directory.
class served {
 public:
  explicit served(std::chrono::milliseconds handshake = std::chrono::seconds(5),
                  const std::function<void(weft::server::state_options&)>& tweak = {}) {
    char tmpl[] = "/tmp/weft-session-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    weft::server::options o;
    o.endpoint = weft::wire::endpoint{"unix", dir_ + "/s.sock"};
    o.handshake_timeout = handshake;
    o.state.log = [l = log](std::string_view line) {
      std::lock_guard lk(l->mu);
      l->lines.emplace_back(line);
    };
    if (tweak) tweak(o.state);
    s_ = std::make_unique<weft::server::server>(o);
    s_->listen();
    weft::go([this] {
      s_->serve();
      served_.close();
    });
    endpoint = o.endpoint;
  }
  ~served() {
    s_->stop();
    served_.recv();  // the goroutine is out of serve() before s_ goes
    std::filesystem::remove_all(dir_);
  }
  weft::server::server& server() { return *s_; }

  weft::wire::endpoint endpoint;
  std::shared_ptr<log_lines> log = std::make_shared<log_lines>();

 private:
  std::string dir_;
  std::unique_ptr<weft::server::server> s_;
  weft::chan<bool> served_;
};

inline v1::Hello stub_hello(std::int64_t pid) {
  v1::Hello h = good_hello();
  h.set_role(v1::Hello::STUB);
  h.mutable_process()->set_pid(pid);
  h.mutable_process()->set_host("testhost");
  h.mutable_process()->set_binary_path("/bin/prog");
  h.mutable_process()->add_argv("prog");
  h.mutable_process()->add_argv("--flag");
  return h;
}

// A stub's attach is registered when its Welcome is sent; LIST right after
// may race it by a moment, hence the retries.
inline void wait_listed(test_client& tool, int n) {
  frame list;
  list.mutable_control()->set_action(v1::Control::LIST);
  for (int i = 0; i < 200; ++i) {
    std::optional<frame> r = tool.call(list);
    if (r && r->has_control_reply() && r->control_reply().processes_size() == n) return;
    weft::this_goroutine::sleep_for(5ms);
  }
  ADD_FAILURE() << "the server never listed " << n << " processes";
}

}  // namespace server_testing
