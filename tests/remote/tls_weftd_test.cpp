// weftd --tls, the real binary (tests/remote/weftd_fixture.hpp): an
// attached program's remote channels and variables work over "tls:" (TCP
// and Unix), with the cluster key's challenge still proven inside TLS; a
// plain client fails at once and is told the address to use; a TLS client
// with another key is refused, and so is one without a key; garbage at the
// TLS listener is refused and weftd serves the next client. Without a key
// weftd refuses --tls, and listening beyond loopback.
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/cluster_key.hpp"
#include "wire/endpoint.hpp"
#include "wire/link.hpp"
#include "wire/tls.hpp"

#if defined(WEFT_TEST_WEFTD) && defined(WEFT_TEST_WEFT) && defined(WEFT_TEST_PIPELINE)
#include "remote/weftd_fixture.hpp"

namespace {

using namespace std::chrono_literals;
namespace wire = weft::wire;

// A weftd with --tls --key on loopback TCP (or a Unix socket); this
// process proves the key with WEFT_KEY_FILE, as the programs it starts do.
class TlsWeftd : public weft_test::weftd_test {
 protected:
  explicit TlsWeftd(bool tcp = true) : weftd_test(weft_test::weftd_config{.key = true, .tls = true, .tcp = tcp}) {}
  void SetUp() override {
    weftd_test::SetUp();
    ::setenv("WEFT_KEY_FILE", key_file().c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("WEFT_KEY_FILE");
    weftd_test::TearDown();
  }
  // The same server, as a plain client would name it: "tcp:127.0.0.1:PORT".
  std::string plain_address() const { return wire::parse_endpoint(address()).plain().text(); }
};

class TlsUnixWeftd : public TlsWeftd {
 protected:
  TlsUnixWeftd() : TlsWeftd(false) {}
};

void channels_and_variables_work() {
  EXPECT_TRUE(weft::remote::attached());
  weft::remote::chan<std::string> c("tls.words", 4);
  weft::go([c]() mutable {
    for (int i = 0; i < 300; ++i) c.send(std::string(i * 97 % 5000, 'w') + std::to_string(i));
    c.close();
  });
  int n = 0;
  for (std::string s : weft::remote::chan<std::string>("tls.words")) {
    EXPECT_EQ(s, std::string(n * 97 % 5000, 'w') + std::to_string(n));
    ++n;
  }
  EXPECT_EQ(n, 300);
  weft::remote::var<std::int64_t> v("tls.counter", 40);
  EXPECT_EQ(v.fetch_add(2), 40);
  EXPECT_EQ(v.load(), 42);
}

TEST_F(TlsWeftd, AnAttachedProgramsRemoteChannelWorksOverTls) {
  ASSERT_EQ(address().rfind("tls:127.0.0.1:", 0), 0u) << address();
  weft::run(channels_and_variables_work, attached());
  // Another process, attached the same way: the example pipeline.
  weft_test::command consumer({WEFT_TEST_PIPELINE, "consume", "20"}, {"WEFT_RUNTIME=" + address()});
  weft_test::command producer({WEFT_TEST_PIPELINE, "produce", "20"}, {"WEFT_RUNTIME=" + address()});
  EXPECT_EQ(producer.wait(), 0) << producer.err();
  EXPECT_EQ(consumer.wait(), 0) << consumer.err();
  EXPECT_NE(consumer.out().find("expected 2870"), std::string::npos) << consumer.out();
  // The weft command over TLS too.
  weft_test::command ps({WEFT_TEST_WEFT, "ps", "--runtime", address()});
  EXPECT_EQ(ps.wait(), 0) << ps.err();
  // The key's challenge-response still runs, inside TLS.
  EXPECT_NE(log_text().find("(key proven)"), std::string::npos) << log_text();
}

TEST_F(TlsUnixWeftd, AnAttachedProgramsRemoteChannelWorksOverTlsOnAUnixSocket) {
  ASSERT_EQ(address().rfind("tls:unix:/", 0), 0u) << address();
  weft::run(channels_and_variables_work, attached());
}

TEST_F(TlsWeftd, APlainClientFailsAtOnceAndIsToldToUseTls) {
  const std::string want = "this weftd requires TLS: use " + address();
  auto t0 = std::chrono::steady_clock::now();
  weft_test::command prog({WEFT_TEST_PIPELINE, "produce", "1"}, {"WEFT_RUNTIME=" + plain_address()});
  EXPECT_EQ(prog.wait(), 2) << prog.err();
  EXPECT_NE(prog.err().find(want), std::string::npos) << prog.err();
  weft_test::command ps({WEFT_TEST_WEFT, "ps", "--runtime", plain_address()});
  EXPECT_EQ(ps.wait(), 1) << ps.err();
  EXPECT_NE(ps.err().find(want), std::string::npos) << ps.err();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // both, processes started included: no hang
  // The same at the protocol level, timed alone: the first frame back is
  // an Error that says it.
  weft::run([&] {
    auto t1 = std::chrono::steady_clock::now();
    wire::link l(wire::dial(wire::parse_endpoint(plain_address()), 2s), "weftd");
    weft::wire::frame hello;
    hello.mutable_hello()->set_magic("weft-runtime");
    std::string out;
    wire::append_frame(hello, out);
    l.write_now(out);
    weft::wire::frame reply;
    ASSERT_TRUE(l.receive(reply));
    EXPECT_EQ(reply.error().message(), want);
    EXPECT_LT(std::chrono::steady_clock::now() - t1, 1s);
    l.close();
  });
}

TEST_F(TlsWeftd, ATlsClientWithAnotherKeyOrNoneIsRefused) {
  weft_test::command prog({WEFT_TEST_PIPELINE, "produce", "1"},
                          {"WEFT_RUNTIME=" + address(), "WEFT_KEY_FILE=" + other_key_file()});
  EXPECT_EQ(prog.wait(), 2) << prog.err();
  EXPECT_NE(prog.err().find("cluster key"), std::string::npos) << prog.err();
  weft_test::command ps({WEFT_TEST_WEFT, "ps", "--runtime", address()}, {"WEFT_KEY_FILE=" + other_key_file()});
  EXPECT_EQ(ps.wait(), 1) << ps.err();
  EXPECT_NE(ps.err().find("cluster key"), std::string::npos) << ps.err();
  weft::run([&] {
    std::string other = weft::wire::load_cluster_key(other_key_file());
    try {
      wire::connect(wire::parse_endpoint(address()), 2s, other);
      ADD_FAILURE() << "another key shook hands";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::unauthorized) << e.what();
    }
    try {
      wire::connect(wire::parse_endpoint(address()), 2s, "");
      ADD_FAILURE() << "no key shook hands";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::unauthorized) << e.what();
      EXPECT_NE(std::string(e.what()).find("WEFT_KEY_FILE"), std::string::npos) << e.what();
    }
  });
  EXPECT_NE(log_text().find("the client holds another cluster key"), std::string::npos) << log_text();
  EXPECT_EQ(::kill(server_pid(), 0), 0) << "weftd died";
}

TEST_F(TlsWeftd, GarbageAtTheTlsListenerIsRefusedAndTheNextClientServed) {
  weft::run([&] {
    const wire::endpoint plain = wire::parse_endpoint(plain_address());
    std::mt19937_64 rng(42);
    auto random_bytes = [&](std::size_t n) {
      std::string s(n, '\0');
      for (char& ch : s) ch = static_cast<char>(rng());
      return s;
    };
    std::vector<std::string> garbage = {
        random_bytes(1000),
        "\x16" + random_bytes(500),  // looks like a TLS handshake record, is not
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a ClientHello cut short
        std::string("\x16\x03\x01\xff\xff", 5) + random_bytes(70'000),  // an oversized record
        "GET / HTTP/1.1\r\nHost: weft\r\n\r\n",
        "",  // connects and closes
    };
    for (const std::string& g : garbage) {
      weft::net::conn c = wire::dial(plain, 2s);
      try {
        if (!g.empty()) c.write(g);
        c.close_write();
        c.set_read_deadline(std::chrono::steady_clock::now() + 6s);
        char buf[4096];
        while (c.read(std::as_writable_bytes(std::span<char>(buf, sizeof buf))) != 0) {}
      } catch (const std::system_error&) {
        // reset: weftd closed with our bytes unread; it may
      }
    }
    // Many at once, left half-open in their handshakes: none of them holds
    // up the next clients (other processes, attaching meanwhile).
    std::vector<weft::net::conn> open;
    for (int i = 0; i < 20; ++i) {
      open.push_back(wire::dial(plain, 2s));
      open.back().write(random_bytes(3));
    }
    weft_test::command consumer({WEFT_TEST_PIPELINE, "consume", "5"}, {"WEFT_RUNTIME=" + address()});
    weft_test::command producer({WEFT_TEST_PIPELINE, "produce", "5"}, {"WEFT_RUNTIME=" + address()});
    EXPECT_EQ(weft::blocking([&] { return producer.wait(); }), 0) << producer.err();
    EXPECT_EQ(weft::blocking([&] { return consumer.wait(); }), 0) << consumer.err();
  });
  weft::run(channels_and_variables_work, attached());  // and this one
  EXPECT_EQ(::kill(server_pid(), 0), 0) << "weftd died";
  EXPECT_NE(log_text().find("does not speak TLS"), std::string::npos) << log_text();
  EXPECT_NE(log_text().find("TLS handshake failed"), std::string::npos) << log_text();
}

// weftd's own refusals: no key, no TLS; no key, no listening beyond
// loopback (the rule of DESIGN.md, "Security"); with a key, both.
TEST(TlsWeftdStart, WithoutAKeyWeftdRefusesTlsAndListeningBeyondLoopback) {
  char tmpl[] = "/tmp/weft-tls-start-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::vector<std::string> env = {"XDG_RUNTIME_DIR=" + dir, "WEFT_TLS="};
  weft_test::command tls({WEFT_TEST_WEFTD, "--tls", "--listen", "tcp:127.0.0.1:0"}, env);
  EXPECT_EQ(tls.wait(), 2) << tls.err();
  EXPECT_NE(tls.err().find("without a cluster key"), std::string::npos) << tls.err();
  EXPECT_NE(tls.err().find("--key FILE"), std::string::npos) << tls.err();
  weft_test::command wide({WEFT_TEST_WEFTD, "--listen", "tcp:0.0.0.0:0"}, env);
  EXPECT_EQ(wide.wait(), 2) << wide.err();
  EXPECT_NE(wide.err().find("beyond loopback"), std::string::npos) << wide.err();
  EXPECT_NE(wide.err().find("--key FILE"), std::string::npos) << wide.err();
  weft_test::command wide_tls({WEFT_TEST_WEFTD, "--listen", "tls:0.0.0.0:0"}, env);
  EXPECT_EQ(wide_tls.wait(), 2) << wide_tls.err();
  // With a key: TLS on every interface. WEFT_TLS=1 is --tls.
  weft_test::write_key_file(dir + "/key");
  weft_test::command keyed({WEFT_TEST_WEFTD, "--listen", "tcp:0.0.0.0:0", "--key", dir + "/key"},
                           {"XDG_RUNTIME_DIR=" + dir, "WEFT_TLS=1"});
  auto end = std::chrono::steady_clock::now() + 10s;
  while (keyed.err().find("listening on") == std::string::npos && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  EXPECT_NE(keyed.err().find("listening on tls:0.0.0.0:"), std::string::npos) << keyed.err();
  std::filesystem::remove_all(dir);
}

}  // namespace

#endif
