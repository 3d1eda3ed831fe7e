// A stop callback that closes a conn while its owner reads it (issue 11,
// defect 9; Go's context.AfterFunc(ctx, conn.Close)). The callback parks in
// close() until the reader has left the descriptor; the reader then
// unwinds and destroys the conn. Destroying it freed the netfd under the
// parked close (a segfault in netpoll_close, 8 runs of 8 at procs 1): now a
// destroy waits for a close that another goroutine has begun.
//
// Only weft::stop_callback is exercised: std::stop_callback is not safe
// with a callback that parks (weft/stop_callback.hpp says why). A variant
// with it passed for weeks and then failed under TSan, rightly: the reader,
// on the thread the request began on, was taken for "inside the callback",
// skipped the wait, and read libstdc++'s record of the callback while the
// requester was still writing it.
#include <weft/net.hpp>
#include <weft/stop_callback.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <system_error>

#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
namespace net = weft::net;

void stop_closes_conn_of_reader(int procs) {
  std::atomic<int> read_failed{0};
  weft::run([&] {
    net::listener ln = net::listen("tcp", "127.0.0.1:0");
    const int rounds = weft_test::scaled(20);
    weft::chan<net::conn> accepted(rounds);
    weft::wait_group acceptor;
    acceptor.add(1);
    weft::go([&ln, &acceptor, accepted]() mutable {
      for (;;) {
        try {
          accepted.send(ln.accept());  // held open: the reader never sees EOF
        } catch (const std::system_error&) {
          break;
        }
      }
      acceptor.done();
    });
    for (int i = 0; i < rounds; ++i) {
      std::stop_source src;
      weft::wait_group wg;
      wg.add(1);
      weft::go([&] {
        {
          net::conn c = net::dial("tcp", ln.address());
          auto close_it = [&c] { c.close(); };
          weft::stop_callback<decltype(close_it)> cb(src.get_token(), close_it);
          std::byte buf[16];
          try {
            c.read(buf);
          } catch (const std::system_error&) {
            read_failed++;
          }
        }  // cb, then c, destroyed here: while the callback may still be in close
        wg.done();
      });
      weft::go([&src] {
        weft::this_goroutine::sleep_for(1ms);
        src.request_stop();
      });
      wg.wait();
      weft::this_goroutine::sleep_for(2ms);  // the requester finishes before src goes
    }
    ln.close();
    acceptor.wait();
    while (accepted.try_recv()) {
    }
  }, weft_test::procs_opt(procs));
  EXPECT_EQ(read_failed.load(), weft_test::scaled(20));
}

TEST(StopClose, WeftStopCallbackClosingTheConnOfItsReader) {
  for (int procs : {1, 2}) stop_closes_conn_of_reader(procs);
}

}  // namespace
