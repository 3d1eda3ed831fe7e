// tests/circuit/tls_spawn_test.cpp: the circuit under weftd --tls (a real
// weftd on loopback TCP with a cluster key). Workers it starts reach it
// over TLS, publish TLS peer addresses ("tls:unix:...") and serve them only
// over TLS; worker to worker, caller to worker and worker to caller xref
// calls all go through TLS peer links. This binary is its own worker: main
// runs the spawned function when a weftd started it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "remote/weftd_fixture.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/endpoint.hpp"
#include "wire/link.hpp"

namespace {

using namespace std::chrono_literals;

struct tally {
  int add(int d) { return total += d; }
  int value() const { return total; }
  int total = 0;
};
WEFT_CROSS(tally, add, value);

// Calls back into the caller through the xref it was given.
int add_through(weft::xref<tally> x, int d) { return x.call<&tally::add>(d).get(); }
WEFT_SPAWNABLE(add_through);

// Serves a tally as "tally" until the remote channel `stop` gives a value.
int serve_tally(std::string stop) {
  weft::listen("tally", weft::ref(std::make_shared<tally>()));
  weft::daemonize([stop] { weft::remote::chan<int>(stop).recv(); });
  return 0;
}
WEFT_SPAWNABLE(serve_tally);

// Dials another worker's "tally" and adds d: a worker-to-worker call.
int add_at(std::string address, int d) { return weft::dial<tally>(address, "tally").call<&tally::add>(d).get(); }
WEFT_SPAWNABLE(add_at);

class TlsSpawn : public weft_test::weftd_test {
 protected:
  TlsSpawn() : weftd_test(weft_test::weftd_config{.key = true, .tls = true, .tcp = true}) {}
  void SetUp() override {
    weftd_test::SetUp();
    ::setenv("WEFT_KEY_FILE", key_file().c_str(), 1);  // workers inherit it
  }
  void TearDown() override {
    ::unsetenv("WEFT_KEY_FILE");
    weftd_test::TearDown();
  }
};

TEST_F(TlsSpawn, WorkersReachWeftdAndEachOtherOverTls) {
  ASSERT_EQ(address().rfind("tls:", 0), 0u) << address();
  weft::run(
      [] {
        auto server = weft::spawn({}, serve_tally, std::string("tls.stop"));
        EXPECT_EQ(server.get(), 0);
        weft::worker k = server.worker();
        // Its peer address says TLS: every dialer speaks TLS to it.
        EXPECT_EQ(k.address().rfind("tls:unix:/", 0), 0u) << k.address();
        // Worker to worker.
        EXPECT_EQ(weft::spawn({}, add_at, k.address(), 5).get(), 5);
        // Caller to worker.
        weft::xref<tally> y = weft::dial<tally>(k.address(), "tally");
        EXPECT_EQ(y.call<&tally::add>(2).get(), 7);
        // Worker to caller: the caller's own peer listener is TLS too.
        auto mine = weft::ref(std::make_shared<tally>());
        EXPECT_EQ(weft::spawn({}, add_through, mine, 3).get(), 3);
        EXPECT_EQ(weft::spawn({}, add_through, mine, 4).get(), 7);

        // A plain dialer at the worker's socket is refused, and told what
        // to dial.
        weft::wire::endpoint e = weft::wire::parse_endpoint(k.address());
        weft::wire::link plain(weft::wire::dial(e.plain(), 2s), "the worker");
        weft::wire::frame hello;
        hello.mutable_hello()->set_magic("weft-runtime");
        hello.mutable_hello()->set_role(weft::runtime::v1::Hello::PEER);
        std::string out;
        weft::wire::append_frame(hello, out);
        plain.write_now(out);
        weft::wire::frame reply;
        ASSERT_TRUE(plain.receive(reply));
        EXPECT_EQ(reply.error().message(), "this worker requires TLS: dial " + k.address());
        plain.close();

        weft::remote::chan<int>("tls.stop").send(1);
        EXPECT_EQ(k.wait(), 0);
      },
      attached());
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
