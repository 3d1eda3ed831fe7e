// tests/wire/tls_test.cpp: TLS streams (src/wire/tls.hpp) on weft's
// netpoller, on loopback TCP: bytes cross intact in both directions at
// once, from one byte to megabytes in one write; many goroutines share one
// wire::link over TLS and every frame arrives once; a peer that stops
// mid-frame, mid-record, or sends a forged record breaks the stream with an
// error, never a hang; the wrong key, a plain client at a TLS server and a
// TLS client at a plain server each fail at once saying why; close_notify
// ends a stream cleanly. The "tls:" endpoint forms parse and print back.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <weft/errors.hpp>
#include <weft/net.hpp>
#include <weft/weft.hpp>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/endpoint.hpp"
#include "wire/link.hpp"
#include "wire/tls.hpp"

namespace {

using namespace std::chrono_literals;
using weft::wire::frame;
namespace wire = weft::wire;

const std::string key = "0123456789abcdef0123456789abcdef";
const std::string other_key = "fedcba9876543210fedcba9876543210";

// A TLS server on loopback: accepts one connection per call of accept().
struct tls_server {
  weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
  std::shared_ptr<const wire::tls_context> ctx;
  explicit tls_server(const std::string& k = key)
      : ctx(std::make_shared<const wire::tls_context>(wire::tls_context::role::server, k)) {}
  wire::endpoint endpoint() const { return wire::endpoint{"tcp", ln.address(), true}; }
  // The next connection, its handshake done (throws what tls_accept throws).
  wire::stream accept(std::chrono::nanoseconds deadline = 5s) {
    weft::net::conn c = ln.accept();
    c.set_deadline(std::chrono::steady_clock::now() + deadline);
    auto s = wire::tls_accept(c, ctx, "this test server requires TLS: use tls:" + ln.address());
    c.set_deadline(weft::net::time_point::max());
    return wire::stream(std::move(c), std::move(s));
  }
};

// A client and a server stream over one TLS connection.
struct tls_pair {
  wire::stream client, server;
};

tls_pair connect_pair() {
  tls_server srv;
  weft::chan<bool> accepted(1);
  wire::stream server;
  weft::go([&] {
    server = srv.accept();
    accepted.send(true);
  });
  wire::stream client = wire::connect(srv.endpoint(), 5s, key);
  accepted.recv();
  return {std::move(client), std::move(server)};
}

// Byte i of a test stream: no period a misplaced chunk could hide in.
std::byte pattern(std::size_t i) { return static_cast<std::byte>((i * 2654435761u) >> 13); }

std::vector<std::byte> patterned(std::size_t from, std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = pattern(from + i);
  return v;
}

// Reads until n bytes or the end; checks them against pattern() from `from`.
// Returns how many were read; counts mismatches in *bad.
std::size_t read_checked(wire::stream& s, std::size_t from, std::size_t n, std::size_t* bad) {
  std::vector<std::byte> buf(100'000);
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = s.read(std::span<std::byte>(buf.data(), std::min(buf.size(), n - got)));
    if (k == 0) break;
    for (std::size_t i = 0; i < k; ++i) *bad += buf[i] != pattern(from + got + i);
    got += k;
  }
  return got;
}

weft::options procs(int n) {
  weft::options o;
  o.procs = n;
  return o;
}

TEST(TlsStream, SmallAndLargeWritesCrossIntactBothWaysAtOnce) {
  weft::run(
      [] {
        tls_pair p = connect_pair();
        EXPECT_TRUE(p.client.tls());
        EXPECT_TRUE(p.server.tls());
        // One byte, a few, one record's worth, more than a chunk, megabytes.
        const std::vector<std::size_t> sizes = {1, 17, 16384, 16385, 70'000, 3'000'000, 1, 5'000'000};
        std::size_t total = 0;
        for (std::size_t n : sizes) total += n;
        // The server echoes what it reads while the client still writes:
        // both directions of one session are busy at once.
        weft::wait_group server_done, reader_done;
        server_done.add(1);
        reader_done.add(1);
        std::size_t echoed = 0;
        weft::go([&] {
          std::vector<std::byte> buf(50'000);
          for (;;) {
            std::size_t k = p.server.read(buf);
            if (k == 0) break;
            p.server.write(std::span<const std::byte>(buf.data(), k));
            echoed += k;
          }
          p.server.close();
          server_done.done();
        });
        std::size_t back = 0, bad = 0;
        weft::go([&] {
          back = read_checked(p.client, 0, total, &bad);
          reader_done.done();
        });
        std::size_t at = 0;
        for (std::size_t n : sizes) {
          std::vector<std::byte> chunk = patterned(at, n);
          p.client.write(chunk);
          at += n;
        }
        reader_done.wait();
        // Our close sends close_notify: the server's read ends cleanly.
        p.client.close();
        server_done.wait();
        EXPECT_EQ(echoed, total);
        EXPECT_EQ(back, total);
        EXPECT_EQ(bad, 0u);
      },
      procs(4));
}

TEST(TlsStream, CloseNotifyIsACleanEndOfStream) {
  weft::run([] {
    tls_pair p = connect_pair();
    p.client.write(std::string_view("last words"));
    p.client.close();
    std::string got(64, '\0');
    std::size_t n = p.server.read(std::as_writable_bytes(std::span<char>(got.data(), got.size())));
    EXPECT_EQ(got.substr(0, n), "last words");
    EXPECT_EQ(p.server.read(std::as_writable_bytes(std::span<char>(got.data(), got.size()))), 0u);
    // Reading a closed stream fails as on a closed conn.
    EXPECT_THROW(p.client.read(std::as_writable_bytes(std::span<char>(got.data(), got.size()))), std::system_error);
  });
}

// Frame number i of goroutine g: its id says who and which, its size
// varies up to 200 KB (under the outbox bound in all: 48 senders, 18 MB), so the socket fills and senders' direct writes leave
// ciphertext for the link's writer to flush (stream::output_pending).
frame numbered(std::uint64_t g, std::uint64_t i) {
  frame f;
  f.set_id(g << 32 | i);
  std::size_t size = i % 20 == 0 ? 200'000 : (i * 7919 + g * 104729) % 9'000;
  f.mutable_error()->set_message(std::string(size, static_cast<char>('a' + (g + i) % 26)));
  return f;
}

TEST(TlsStream, ManyGoroutinesShareOneLinkAndEveryFrameComesBackOnce) {
  weft::run(
      [] {
        tls_pair p = connect_pair();
        wire::link client(std::move(p.client), "the echo server");
        wire::link server(std::move(p.server), "the client");
        weft::wait_group loops;
        loops.add(3);
        weft::go([&] {
          client.write_loop();
          loops.done();
        });
        weft::go([&] {
          server.write_loop();
          loops.done();
        });
        weft::go([&] {  // the echo server: what it receives goes back
          frame f;
          try {
            while (server.receive(f)) server.send(f);
          } catch (const weft::remote_error&) {
          }
          loops.done();
        });
        constexpr std::uint64_t goroutines = 48, per = 60;
        std::set<std::uint64_t> seen;
        std::uint64_t duplicates = 0, corrupt = 0;
        weft::chan<bool> all_back;
        weft::go([&] {
          frame f;
          while (seen.size() + duplicates < goroutines * per && client.receive(f)) {
            const std::uint64_t g = f.id() >> 32, i = f.id() & 0xffffffffu;
            if (!seen.insert(f.id()).second) ++duplicates;
            if (f.error().message() != numbered(g, i).error().message()) ++corrupt;
          }
          all_back.close();
        });
        weft::wait_group senders;
        for (std::uint64_t g = 0; g < goroutines; ++g) {
          senders.add(1);
          weft::go([&, g] {
            for (std::uint64_t i = 0; i < per; ++i) {
              client.send(numbered(g, i));
              if (i % 7 == 0) weft::this_goroutine::yield();
            }
            senders.done();
          });
        }
        senders.wait();
        bool timed_out = false;
        weft::select(weft::on_recv(all_back, [] {}), weft::on_recv(weft::after(60s), [&] { timed_out = true; }));
        EXPECT_FALSE(timed_out) << seen.size() << " of " << goroutines * per << " frames came back";
        EXPECT_EQ(seen.size(), goroutines * per);
        EXPECT_EQ(duplicates, 0u);
        EXPECT_EQ(corrupt, 0u);
        client.close();
        server.close();
        all_back.recv();
        loops.wait();
      },
      procs(4));
}

TEST(TlsStream, FramesSentIntoAFullSocketArriveInOrderOnceItDrains) {
  weft::run(
      [] {
        tls_pair p = connect_pair();
        wire::link sender(std::move(p.client), "the slow reader");
        wire::link receiver(std::move(p.server), "the sender");
        weft::wait_group writer;
        writer.add(1);
        weft::go([&] {
          sender.write_loop();
          writer.done();
        });
        // Nobody reads for now: one direct write meets a full socket, its
        // frame encrypted but only partly written (stream::output_pending),
        // and the link's writer must flush that before the frames queued
        // behind it.
        constexpr std::uint64_t frames = 1500;
        for (std::uint64_t i = 0; i < frames; ++i) {
          sender.send(numbered(1, i % 20 == 0 ? i + 1 : i));
          weft::this_goroutine::yield();  // the writer catches up: most sends write directly
        }
        std::uint64_t next = 0, wrong = 0;
        frame f;
        while (next < frames && receiver.receive(f)) {
          const std::uint64_t i = f.id() & 0xffffffffu;
          const std::uint64_t want = next % 20 == 0 ? next + 1 : next;
          wrong += i != want || f.error().message() != numbered(1, want).error().message();
          ++next;
        }
        EXPECT_EQ(next, frames);
        EXPECT_EQ(wrong, 0u);
        sender.close();
        receiver.close();
        writer.wait();
      },
      procs(2));
}

TEST(TlsStream, APeerThatStopsMidFrameIsLostNotAHang) {
  weft::run([] {
    tls_pair p = connect_pair();
    wire::link server(std::move(p.server), "the client");
    // A frame header announcing 1000 bytes, and 10 of them.
    std::string partial = std::string("\0\0\x03\xe8", 4) + std::string(10, 'x');
    p.client.write(partial);
    p.client.close();
    frame f;
    try {
      server.receive(f);
      ADD_FAILURE() << "a frame cut short was received";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::lost);
      EXPECT_NE(std::string(e.what()).find("middle of a frame"), std::string::npos) << e.what();
    }
    server.close();
  });
}

// The raw side of a client: its conn stays ours after the handshake, to
// write what no TLS library would.
struct raw_client {
  weft::net::conn c;
  std::unique_ptr<wire::tls_session> s;
};

TEST(TlsStream, ARecordCutShortOrForgedBreaksTheStreamWithAnError) {
  weft::run([] {
    for (bool forged : {false, true}) {
      tls_server srv;
      weft::chan<bool> accepted(1);
      wire::stream server;
      weft::go([&] {
        server = srv.accept();
        accepted.send(true);
      });
      raw_client rc;
      rc.c = weft::net::dial("tcp", srv.ln.address());
      rc.s = wire::tls_connect(rc.c, std::make_shared<const wire::tls_context>(wire::tls_context::role::client, key),
                               "tcp:" + srv.ln.address());
      accepted.recv();
      rc.s->write(rc.c, std::as_bytes(std::span<const char>("hello", 5)));
      // An application_data record header announcing 256 bytes: 20 of
      // them and the end (cut short), or all 256 made up (forged).
      std::string record = std::string("\x17\x03\x03\x01\x00", 5) + std::string(forged ? 256 : 20, '\x5a');
      rc.c.write(record);
      if (!forged) rc.c.close_write();
      char buf[64];
      std::size_t n = server.read(std::as_writable_bytes(std::span<char>(buf, sizeof buf)));
      EXPECT_EQ(std::string(buf, n), "hello");
      try {
        server.read(std::as_writable_bytes(std::span<char>(buf, sizeof buf)));
        ADD_FAILURE() << (forged ? "a forged record was read" : "a record cut short read as an end of stream");
      } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), forged ? EPROTO : ECONNRESET) << e.what();
      }
      server.close();
      rc.c.close();
    }
  });
}

TEST(TlsStream, TheWrongKeyIsRefusedAtBothEnds) {
  weft::run([] {
    tls_server srv;
    weft::chan<std::string> server_saw(1);
    weft::go([&] {
      try {
        srv.accept();
        server_saw.send("accepted");
      } catch (const weft::remote_error& e) {
        server_saw.send(std::string(e.kind() == weft::remote_errc::unauthorized ? "unauthorized: " : "other: ") +
                        e.what());
      }
    });
    try {
      wire::connect(srv.endpoint(), 5s, other_key);
      ADD_FAILURE() << "a client with another key shook hands";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::unauthorized) << e.what();
      EXPECT_NE(std::string(e.what()).find("cluster key"), std::string::npos) << e.what();
    }
    std::string saw = *server_saw.recv();
    EXPECT_EQ(saw.rfind("unauthorized: ", 0), 0u) << saw;
    EXPECT_NE(saw.find("another cluster key"), std::string::npos) << saw;
  });
}

TEST(TlsStream, APlainClientAtATlsServerIsToldWhatToUse) {
  weft::run([] {
    tls_server srv;
    weft::chan<std::string> server_saw(1);
    weft::go([&] {
      try {
        srv.accept();
        server_saw.send("accepted");
      } catch (const weft::remote_error& e) {
        server_saw.send(e.what());
      }
    });
    const auto t0 = std::chrono::steady_clock::now();
    wire::link plain(wire::dial(wire::endpoint{"tcp", srv.ln.address()}, 5s), "the TLS server");
    frame hello;
    hello.mutable_hello()->set_magic("weft-runtime");
    std::string out;
    wire::append_frame(hello, out);
    plain.write_now(out);
    frame reply;
    ASSERT_TRUE(plain.receive(reply));
    ASSERT_TRUE(reply.has_error()) << reply.ShortDebugString();
    EXPECT_EQ(reply.error().code(), weft::runtime::v1::Error::REFUSED);
    EXPECT_EQ(reply.error().message(), "this test server requires TLS: use tls:" + srv.ln.address());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    plain.close();
    EXPECT_NE(server_saw.recv()->find("does not speak TLS"), std::string::npos);
  });
}

TEST(TlsStream, ATlsClientAtAPlainServerIsToldWhatToUse) {
  weft::run([] {
    // A plain weft server's answer to bytes that are not a frame: an Error
    // frame, then it closes (as weftd does to a TLS ClientHello).
    weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
    weft::go([&] {
      weft::net::conn c = ln.accept();
      char buf[4096];
      (void)c.read(std::as_writable_bytes(std::span<char>(buf, sizeof buf)));
      frame err;
      err.mutable_error()->set_message("not a weft client");
      std::string out;
      wire::append_frame(err, out);
      c.write(out);
      c.close();
    });
    const auto t0 = std::chrono::steady_clock::now();
    try {
      wire::connect(wire::endpoint{"tcp", ln.address(), true}, 5s, key);
      ADD_FAILURE() << "a plain server shook hands in TLS";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::refused) << e.what();
      EXPECT_NE(std::string(e.what()).find("does not speak TLS"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("tcp:" + ln.address()), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  });
}

TEST(TlsStream, AServerHandshakeEndsByItsDeadlineOrTheClientsClose) {
  weft::run([] {
    tls_server srv;
    weft::net::conn silent = weft::net::dial("tcp", srv.ln.address());
    const auto t0 = std::chrono::steady_clock::now();
    try {
      srv.accept(100ms);
      ADD_FAILURE() << "a silent client shook hands";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::timed_out) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    // A client that connects and closes (a probe): "lost", nothing sent.
    weft::net::dial("tcp", srv.ln.address()).close();
    try {
      srv.accept();
      ADD_FAILURE() << "a closed client shook hands";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::lost) << e.what();
    }
  });
}

TEST(TlsStream, ConnectWithoutAKeyIsUnauthorizedBeforeAnyByte) {
  weft::run([] {
    try {
      wire::connect(wire::endpoint{"tcp", "127.0.0.1:1", true}, 1s, "");
      ADD_FAILURE() << "connected without a key";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::unauthorized);
      EXPECT_NE(std::string(e.what()).find("WEFT_KEY_FILE"), std::string::npos) << e.what();
    }
  });
}

TEST(TlsEndpoint, ParsesAndPrintsTheTlsForms) {
  wire::endpoint a = wire::parse_endpoint("tls:127.0.0.1:7000");
  EXPECT_EQ(a.network, "tcp");
  EXPECT_EQ(a.address, "127.0.0.1:7000");
  EXPECT_TRUE(a.tls);
  EXPECT_EQ(a.text(), "tls:127.0.0.1:7000");
  EXPECT_EQ(a.plain().text(), "tcp:127.0.0.1:7000");
  wire::endpoint b = wire::parse_endpoint("tls:tcp:[::1]:7");
  EXPECT_EQ(b.network, "tcp");
  EXPECT_EQ(b.address, "[::1]:7");
  EXPECT_EQ(b.text(), "tls:[::1]:7");
  wire::endpoint u = wire::parse_endpoint("tls:unix:/tmp/w.sock");
  EXPECT_EQ(u.network, "unix");
  EXPECT_EQ(u.address, "/tmp/w.sock");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.text(), "tls:unix:/tmp/w.sock");
  EXPECT_EQ(wire::parse_endpoint(u.text()).text(), u.text());
  wire::endpoint p = wire::parse_endpoint("tcp:localhost:9");
  EXPECT_FALSE(p.tls);
  EXPECT_EQ(p.text(), "tcp:localhost:9");
  for (const char* bad : {"tls:", "tls:host", "tls:unix:", "tls:udp:x:1", "tls:tcp:host"}) {
    try {
      wire::parse_endpoint(bad);
      ADD_FAILURE() << bad << " parsed";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("tls:host:port"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
