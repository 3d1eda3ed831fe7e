// tests/circuit/xref_test.cpp: cross-references inside one process: calls
// on this process's own objects, futures (select, deadlines), the codec,
// listen/dial by this process's address, reference counts, the checks an
// owner makes before it runs a method, and the run's teardown. The
// multi-process half is xref_peers_test.cpp.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <weft/weft.hpp>
#include <weft/xref.hpp>

#include "circuit/xref_serve.hpp"
#include "weft_test_util.hpp"
#include "xref_test_types.hpp"

namespace {

using namespace std::chrono_literals;
using xref_test::counter;
using xref_test::keeper;
namespace ct = weft::circuit::testing;

// Polls cond until it holds or limit passes (for what only the owner's
// sweeper or a one-way release changes, of which nothing tells us).
template <class F>
bool eventually(F cond, std::chrono::milliseconds limit = 3000ms) {
  return weft_test::eventually(cond, limit, 10ms);
}

TEST(Xref, CallOnOwnObjectReturnsResult) {
  weft::run([] {
    auto c = std::make_shared<counter>();
    weft::xref<counter> x = weft::ref(c);
    EXPECT_EQ(x.call<&counter::add>(5).get(), 5);
    EXPECT_EQ(x.call<&counter::add>(2).get(), 7);
    EXPECT_EQ(c->n.load(), 7);
    EXPECT_EQ(x.owner(), weft::circuit::detail::self_address());
    EXPECT_EQ(weft::ref(c).object_id(), x.object_id());  // one export per object
  });
}

TEST(Xref, ThrowingMethodGivesRemoteException) {
  weft::run([] {
    weft::xref<counter> x = weft::ref(std::make_shared<counter>());
    try {
      x.call<&counter::fail>("no such thing").get();
      FAIL() << "no exception";
    } catch (const weft::remote_exception& e) {
      EXPECT_EQ(e.type_name(), "std::out_of_range");
      EXPECT_STREQ(e.what(), "no such thing");
    }
    EXPECT_EQ(x.call<&counter::add>(1).get(), 1);  // the object lives on
  });
}

TEST(Xref, FutureInSelect) {
  weft::run([] {
    weft::xref<counter> x = weft::ref(std::make_shared<counter>());
    weft::chan<int> ch(1);
    // Nothing ready: the default.
    weft::future<int> f = x.call<&counter::slow>(300, 3);
    EXPECT_EQ(weft::select(weft::on_ready(f, [] {}), weft::on_default()), 1u);
    // A channel ready first wins; the future is still pending.
    ch.send(9);
    int got = 0;
    EXPECT_EQ(weft::select(weft::on_ready(f, [] {}), weft::on_recv(ch, [&](std::optional<int> v) { got = *v; })),
              1u);
    EXPECT_EQ(got, 9);
    // Then the future: select parks until it is settled.
    EXPECT_EQ(weft::select(weft::on_ready(f, [&](const weft::future<int>& r) { got = r.get(); }),
                           weft::on_recv(ch, [] {})),
              0u);
    EXPECT_EQ(got, 3);
    // Settled: ready to every select, again.
    EXPECT_EQ(weft::select(weft::on_ready(f, [] {}), weft::on_default()), 0u);
    // A failed call is ready too, and get() throws there.
    weft::future<int> bad = x.call<&counter::fail>("x");
    EXPECT_EQ(weft::select(weft::on_ready(bad, [&](const weft::future<int>& r) {
      EXPECT_THROW(r.get(), weft::remote_exception);
    })),
              0u);
    // No outcome: never ready, like a nil channel.
    weft::future<int> none;
    EXPECT_EQ(weft::select(weft::on_ready(none, [] {}), weft::on_default()), 1u);
  });
}

TEST(Xref, FutureDeadline) {
  weft::run([] {
    weft::xref<counter> x = weft::ref(std::make_shared<counter>());
    weft::future<int> f = x.call<&counter::slow>(400, 1);
    EXPECT_FALSE(f.wait_for(20ms));
    try {
      (void)f.get_for(20ms);
      FAIL() << "no timeout";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::timeout);
    }
    EXPECT_EQ(f.get(), 1);  // the deadline did not cancel the call
    EXPECT_TRUE(f.wait_for(0ms));
    EXPECT_EQ(f.get_until(std::chrono::steady_clock::now()), 1);
    EXPECT_THROW(weft::future<int>().get(), weft::misuse_error);
  });
}

TEST(Xref, LocalReferencesCounted) {
  weft::run([] {
    {
      weft::xref<counter> x = weft::ref(std::make_shared<counter>());
      weft::xref<counter> y = x;
      EXPECT_EQ(ct::live_exports(), 1u);
      x = {};
      EXPECT_EQ(ct::live_exports(), 1u);  // y holds it
    }
    EXPECT_EQ(ct::live_exports(), 0u);
  });
}

TEST(Xref, PermRefNeverFreed) {
  ::setenv("WEFT_XREF_LEASE_MS", "200", 1);
  weft::run([] {
    { weft::xref<counter> p = weft::perm_ref(std::make_shared<counter>()); }
    weft::this_goroutine::sleep_for(500ms);  // two leases and some sweeps
    EXPECT_EQ(ct::live_exports(), 1u);
  });
  ::unsetenv("WEFT_XREF_LEASE_MS");
  EXPECT_EQ(ct::live_exports(), 0u);  // the run's end let it go
}

TEST(Xref, CodecRoundTripRegistersTheReceiver) {
  weft::run([] {
    weft::xref<counter> x = weft::ref(std::make_shared<counter>());
    std::string bytes = weft::encode(x);
    auto y = weft::decode<weft::xref<counter>>(bytes);
    EXPECT_EQ(y.object_id(), x.object_id());
    EXPECT_EQ(y.call<&counter::add>(4).get(), 4);
    x = {};
    EXPECT_EQ(ct::live_exports(), 1u);  // y holds it
    y = {};
    EXPECT_EQ(ct::live_exports(), 0u);  // the pin was consumed by the decode
    EXPECT_FALSE(weft::decode<weft::xref<counter>>(weft::encode(weft::xref<counter>())));
    EXPECT_EQ(weft::codec<weft::xref<counter>>::signature(), "xref<xref_test::counter>");
  });
}

TEST(Xref, PinExpiresWhenNobodyDecodes) {
  ::setenv("WEFT_XREF_TRANSIT_MS", "300", 1);
  weft::run([] {
    weft::xref<counter> x = weft::ref(std::make_shared<counter>());
    std::string bytes = weft::encode(x);
    x = {};
    EXPECT_EQ(ct::live_exports(), 1u);  // in transit
    EXPECT_TRUE(eventually([] { return ct::live_exports() == 0; }));
  });
  ::unsetenv("WEFT_XREF_TRANSIT_MS");
}

TEST(Xref, ListenAndDialInOneProcess) {
  weft::run([] {
    weft::xref<counter> x = weft::ref(std::make_shared<counter>());
    weft::listen("c", x);
    auto y = weft::dial<counter>(weft::circuit::detail::self_address(), "c");
    EXPECT_EQ(y.call<&counter::add>(3).get(), 3);
    EXPECT_TRUE(y == x);
    try {
      (void)weft::dial<counter>(weft::circuit::detail::self_address(), "nobody");
      FAIL();
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::refused);
    }
    EXPECT_THROW((void)weft::dial<keeper>(weft::circuit::detail::self_address(), "c"), weft::remote_error);
  });
}

TEST(Xref, OwnerRefusesAMismatchNamingTheMethod) {
  weft::run([] {
    weft::xref<counter> x = weft::ref(std::make_shared<counter>());
    weft::runtime::v1::XCall c;
    c.set_object(x.object_id());
    c.set_type("xref_test::counter");
    c.set_method("add");
    c.set_signature("i64(i64)");
    c.set_args(weft::encode(std::make_tuple(std::int64_t{1})));
    auto r = weft::circuit::detail::serve_call(c);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code(), weft::runtime::v1::Error::REFUSED);
    EXPECT_NE(r.error().message().find("xref_test::counter::add is i32(i32)"), std::string::npos)
        << r.error().message();
    c.set_method("subtract");
    r = weft::circuit::detail::serve_call(c);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code(), weft::runtime::v1::Error::NOT_FOUND);
    EXPECT_NE(r.error().message().find("xref_test::counter::subtract"), std::string::npos) << r.error().message();
    c.set_method("add");
    c.set_signature("i32(i32)");
    c.set_args("\xc1");  // not MessagePack
    r = weft::circuit::detail::serve_call(c);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code(), weft::runtime::v1::Error::PROTOCOL);
  });
}

TEST(Xref, TcpBeyondLoopbackNeedsAKey) {
  ::setenv("WEFT_PEER_LISTEN", "tcp:0.0.0.0:0", 1);
  ::unsetenv("WEFT_KEY_FILE");
  // A runtime directory of its own: this user's default key (made by any
  // local weftd that ever ran) would otherwise count as a key.
  char tmpl[] = "/tmp/weft-xref-nokey-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  const bool had_xdg = xdg != nullptr;
  const std::string saved = had_xdg ? xdg : "";
  ::setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
  weft::run([] {
    try {
      (void)weft::ref(std::make_shared<counter>());
      FAIL() << "listened beyond loopback without a key";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("beyond loopback"), std::string::npos) << e.what();
    }
  });
  ::unsetenv("WEFT_PEER_LISTEN");
  if (had_xdg)
    ::setenv("XDG_RUNTIME_DIR", saved.c_str(), 1);
  else
    ::unsetenv("XDG_RUNTIME_DIR");
  std::filesystem::remove_all(dir);
}

TEST(Xref, RunEndRemovesTheSocketAndStartsAgain) {
  std::string path;
  for (int i = 0; i < 3; ++i) {
    weft::run([&] {
      weft::xref<counter> x = weft::ref(std::make_shared<counter>());
      weft::listen("c", x);
      path = x.owner().substr(5);  // "unix:"
      EXPECT_EQ(::access(path.c_str(), F_OK), 0);
      EXPECT_EQ(weft::dial<counter>(x.owner(), "c").call<&counter::add>(1).get(), 1);
    });
    EXPECT_NE(::access(path.c_str(), F_OK), 0) << path;
    EXPECT_EQ(ct::live_exports(), 0u);
  }
}

}  // namespace
