// tests/net/reader_test.cpp: weft::net::reader and weft::net::copy.
// Over a scripted source (every split of the stream chosen by the test):
// lines split anywhere ("\r" and "\n" in different reads), a delimiter at
// either edge of a read, end of stream in the middle of a line, lines far
// longer than the buffer, read_full's three outcomes, a source that throws
// midway losing nothing, copy's count. Over real conns: many goroutines
// talking a line protocol, length-prefixed frames, copy as an echo, and a
// read deadline in the middle of a line, at every procs value.
#include <weft/net_io.hpp>
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using weft_test::procs_name;
using weft_test::procs_opt;
namespace net = weft::net;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// A source that returns the scripted chunks one read at a time (a chunk
// larger than the caller's buffer is handed out over several reads), then
// end of stream. A chunk "!" throws a timeout instead, once.
struct script {
  std::deque<std::string> chunks;
  int reads = 0;

  explicit script(std::initializer_list<std::string> c) : chunks(c) {}
  std::size_t read(std::span<std::byte> buf) {
    ++reads;
    if (chunks.empty() || buf.empty()) return 0;
    if (chunks.front() == "!") {
      chunks.pop_front();
      throw std::system_error(std::make_error_code(std::errc::timed_out), "script");
    }
    std::string& c = chunks.front();
    const std::size_t n = std::min(buf.size(), c.size());
    c.copy(reinterpret_cast<char*>(buf.data()), n);
    c.erase(0, n);
    if (c.empty()) chunks.pop_front();
    return n;
  }
};

struct sink {
  std::string got;
  void write(std::span<const std::byte> buf) { got.append(reinterpret_cast<const char*>(buf.data()), buf.size()); }
};

std::string take_string(net::reader& r, std::size_t n) {
  std::string s(n, '\0');
  if (!r.read_full(std::as_writable_bytes(std::span(s.data(), s.size())))) return "<eof>";
  return s;
}

TEST(Reader, LinesSplitAnywhere) {
  script src{"ab", "c\r", "\nde", "f\n", "\n", "\r\n", "g", "h\n", "last"};
  net::reader r(src);
  EXPECT_EQ(r.read_line(), "abc");
  EXPECT_EQ(r.read_line(), "def");
  EXPECT_EQ(r.read_line(), "");
  EXPECT_EQ(r.read_line(), "");
  EXPECT_EQ(r.read_line(), "gh");
  EXPECT_EQ(r.read_line(), "last");  // the end of stream ends the last line
  EXPECT_EQ(r.read_line(), std::nullopt);
  EXPECT_EQ(r.read_line(), std::nullopt);
}

TEST(Reader, EndOfStreamInTheMiddleOfALine) {
  script src{"one;two;thr", "ee"};
  net::reader r(src);
  EXPECT_EQ(r.read_until(';'), "one;");
  EXPECT_EQ(r.read_until(';'), "two;");
  EXPECT_EQ(r.read_until(';'), "three");  // no delimiter: the stream ended
  EXPECT_EQ(r.read_until(';'), std::nullopt);
  script empty{};
  net::reader e(empty);
  EXPECT_EQ(e.read_line(), std::nullopt);
  EXPECT_EQ(e.read_until(';'), std::nullopt);
}

TEST(Reader, DelimiterAtEitherEdgeOfARead) {
  script src{";a", "b;", ";", "c", ";"};
  net::reader r(src, 16);
  EXPECT_EQ(r.read_until(';'), ";");
  EXPECT_EQ(r.read_until(';'), "ab;");
  EXPECT_EQ(r.read_until(';'), ";");
  EXPECT_EQ(r.read_until(';'), "c;");
  EXPECT_EQ(r.read_until(';'), std::nullopt);
}

TEST(Reader, LinesLongerThanTheBuffer) {
  std::string long_line(100'000, 'x');
  for (std::size_t i = 0; i < long_line.size(); ++i) long_line[i] = static_cast<char>('a' + i % 26);
  // Fed in 7-byte pieces through a 16-byte buffer: it grows to hold the line.
  script src{};
  const std::string stream = "short\n" + long_line + "\r\nafter\n" + long_line;
  for (std::size_t i = 0; i < stream.size(); i += 7) src.chunks.push_back(stream.substr(i, 7));
  net::reader r(src, 16);
  EXPECT_EQ(r.read_line(), "short");
  EXPECT_EQ(r.read_line(), long_line);
  EXPECT_EQ(r.read_line(), "after");
  EXPECT_EQ(r.read_line(), long_line);
  EXPECT_EQ(r.read_line(), std::nullopt);
}

TEST(Reader, ReadFullExactCleanEndAndUnexpectedEnd) {
  script src{"12", "345678", "9"};
  net::reader r(src, 16);
  EXPECT_EQ(take_string(r, 3), "123");
  EXPECT_EQ(take_string(r, 5), "45678");
  std::array<std::byte, 4> four{};
  try {
    r.read_full(four);
    ADD_FAILURE() << "no unexpected_eof_error";
  } catch (const net::unexpected_eof_error& e) {
    EXPECT_EQ(e.got(), 1u);
    EXPECT_EQ(e.wanted(), 4u);
    EXPECT_STREQ(e.what(), "weft::net::reader::read_full: 1 of 4 bytes: unexpected EOF");
  }
  EXPECT_EQ(r.buffered(), 1u);  // the partial bytes stay readable
  char c = 0;
  EXPECT_EQ(r.read(std::as_writable_bytes(std::span(&c, 1))), 1u);
  EXPECT_EQ(c, '9');
  EXPECT_FALSE(r.read_full(four));  // a clean end: nothing of it arrived
  EXPECT_TRUE(r.read_full(std::span<std::byte>()));
  // Larger than the buffer, in pieces.
  std::string big(1000, 'q');
  script src2{big.substr(0, 333), big.substr(333, 333), big.substr(666)};
  net::reader r2(src2, 16);
  EXPECT_EQ(take_string(r2, 1000), big);
  EXPECT_EQ(take_string(r2, 1), "<eof>");
}

TEST(Reader, UnexpectedEofIsASystemError) {
  script src{"ab"};
  net::reader r(src);
  std::array<std::byte, 3> three{};
  EXPECT_THROW(r.read_full(three), std::system_error);
}

TEST(Reader, ASourceThatThrowsMidwayLosesNothing) {
  script src{"hel", "!", "lo\nwor", "!", "ld", "!", "!\n"};
  net::reader r(src, 16);
  EXPECT_THROW(r.read_line(), std::system_error);
  EXPECT_EQ(r.read_line(), "hello");
  EXPECT_THROW(take_string(r, 5), std::system_error);  // "wor" is there, then the throw
  EXPECT_EQ(take_string(r, 5), "world");
  EXPECT_THROW(r.read_line(), std::system_error);  // at once, with nothing buffered
  EXPECT_EQ(r.read_line(), "!");
}

TEST(Reader, ReadGivesBufferedBytesFirstAndLargeReadsGoStraightThrough) {
  script src{"line\nrest", std::string(100, 'z')};
  net::reader r(src, 16);
  EXPECT_EQ(r.read_line(), "line");
  EXPECT_EQ(r.buffered(), 4u);
  std::array<char, 64> buf{};
  EXPECT_EQ(r.read(std::as_writable_bytes(std::span(buf))), 4u);  // what is buffered, no wait
  EXPECT_EQ(std::string(buf.data(), 4), "rest");
  const int reads = src.reads;
  EXPECT_EQ(r.read(std::as_writable_bytes(std::span(buf))), 64u);  // straight from the source
  EXPECT_EQ(src.reads, reads + 1);
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_EQ(r.read(std::span<std::byte>()), 0u);
}

TEST(Reader, CopyCountsAndTakesTheReadersBufferFirst) {
  std::string body(100'000, 'b');
  script src{"HEAD\n", body.substr(0, 50'000), body.substr(50'000)};
  net::reader r(src, 32);
  EXPECT_EQ(r.read_line(), "HEAD");
  sink out;
  EXPECT_EQ(net::copy(out, r), body.size());
  EXPECT_EQ(out.got, body);
  script empty{};
  EXPECT_EQ(net::copy(out, empty), 0u);
}

TEST(Reader, MovedFromReadsAsEnded) {
  script src{"a\nb\n"};
  net::reader r(src);
  EXPECT_EQ(r.read_line(), "a");
  net::reader moved(std::move(r));
  EXPECT_EQ(moved.read_line(), "b");
  EXPECT_EQ(r.read_line(), std::nullopt);  // NOLINT(bugprone-use-after-move): documented
  EXPECT_EQ(r.buffered(), 0u);
  script other{"c\n"};
  r = net::reader(other, 0);  // below min_size: gets min_size
  EXPECT_EQ(r.read_line(), "c");
}

// ---- over conns ----

class ReaderProcs : public ::testing::TestWithParam<int> {};

// kClients goroutines send kLines lines each, in pieces that split lines
// anywhere; per connection the server answers each line with its length
// and the line reversed, which the client reads with its own reader.
TEST_P(ReaderProcs, ManyGoroutinesTalkALineProtocol) {
  constexpr int kClients = weft_test::quartered(40), kLines = 25;
  std::atomic<int> answered{0};
  weft::run(
      [&] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        weft::scope servers;
        servers.go([&] {
          for (int i = 0; i < kClients; ++i) {
            servers.go([c = ln.accept()]() mutable {
              net::reader r(c, 64);
              while (std::optional<std::string> line = r.read_line()) {
                std::string reply = std::to_string(line->size()) + " " + std::string(line->rbegin(), line->rend());
                c.write(reply + "\n");
              }
            });
          }
        });
        weft::scope clients;
        for (int i = 0; i < kClients; ++i) {
          clients.go([&, i] {
            net::conn c = net::dial("tcp", ln.address());
            std::string stream;
            std::vector<std::string> sent;
            for (int k = 0; k < kLines; ++k) {
              std::string line(static_cast<std::size_t>((i * 31 + k * 17) % 300), 'a');
              for (std::size_t j = 0; j < line.size(); ++j) line[j] = static_cast<char>('a' + (i + k + j) % 26);
              sent.push_back(line);
              stream += line + (k % 2 ? "\r\n" : "\n");
            }
            for (std::size_t at = 0; at < stream.size();) {  // odd pieces, a yield between
              std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + (at * 7 + static_cast<std::size_t>(i)) % 97);
              c.write(std::string_view(stream).substr(at, n));
              at += n;
              weft::this_goroutine::yield();
            }
            c.close_write();
            net::reader r(c, 32);
            for (const std::string& line : sent) {
              EXPECT_EQ(r.read_line(), std::to_string(line.size()) + " " + std::string(line.rbegin(), line.rend()));
              ++answered;
            }
            EXPECT_EQ(r.read_line(), std::nullopt);
          });
        }
        clients.wait();
        servers.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(answered.load(), kClients * kLines);
}

// Length-prefixed frames (4-byte big-endian length, then the body) read
// with read_full; the writer's pieces ignore frame boundaries.
TEST_P(ReaderProcs, LengthPrefixedFramesWithReadFull) {
  constexpr int kFrames = 200;
  int got = 0;
  weft::run(
      [&] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        weft::scope s;
        s.go([&ln] {
          net::conn c = ln.accept();
          std::string out;
          for (int f = 0; f < kFrames; ++f) {
            const std::size_t len = static_cast<std::size_t>(f * 37 % 5000);
            for (int b = 3; b >= 0; --b) out.push_back(static_cast<char>((len >> (8 * b)) & 0xff));
            out.append(len, static_cast<char>('A' + f % 26));
          }
          for (std::size_t at = 0; at < out.size(); at += 1021) c.write(std::string_view(out).substr(at, 1021));
          c.close_write();
        });
        net::conn c = net::dial("tcp", ln.address());
        net::reader r(c, 256);
        for (;;) {
          std::array<unsigned char, 4> head{};
          if (!r.read_full(std::as_writable_bytes(std::span(head)))) break;  // clean end between frames
          const std::size_t len = std::size_t{head[0]} << 24 | std::size_t{head[1]} << 16 |
                                  std::size_t{head[2]} << 8 | head[3];
          std::string body(len, '\0');
          ASSERT_TRUE(r.read_full(std::as_writable_bytes(std::span(body.data(), body.size()))));
          ASSERT_EQ(body, std::string(static_cast<std::size_t>(got * 37 % 5000), static_cast<char>('A' + got % 26)));
          ++got;
        }
        s.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(got, kFrames);
}

// copy(c, c) is an echo server: it returns the count at the client's end
// of stream, and the client gets every byte back.
TEST_P(ReaderProcs, CopyEchoesAndCounts) {
  const std::size_t kBytes = weft_test::sanitized ? 256 * 1024 : 2 * 1024 * 1024;
  std::size_t copied = 0;
  weft::run(
      [&] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        weft::scope s;
        s.go([&] {
          net::conn c = ln.accept();
          copied = net::copy(c, c);
          c.close_write();
        });
        net::conn c = net::dial("tcp", ln.address());
        std::string data(kBytes, '\0');
        for (std::size_t i = 0; i < kBytes; ++i) data[i] = static_cast<char>(i * 131 % 251);
        s.go([&c, &data] {
          c.write(bytes(data));
          c.close_write();
        });
        net::reader r(c);
        std::string back(kBytes, '\0');
        EXPECT_TRUE(r.read_full(std::as_writable_bytes(std::span(back.data(), back.size()))));
        EXPECT_TRUE(back == data);
        char extra = 0;
        EXPECT_EQ(r.read(std::as_writable_bytes(std::span(&extra, 1))), 0u);
        s.wait();
      },
      procs_opt(GetParam()));
  EXPECT_EQ(copied, kBytes);
}

// A read deadline that expires in the middle of a line loses nothing: after
// the timeout, the same call gets the whole line.
TEST_P(ReaderProcs, DeadlineInTheMiddleOfALineLosesNothing) {
  weft::run(
      [&] {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        weft::chan<int> go_on;
        weft::scope s;
        s.go([&ln, go_on]() mutable {
          net::conn c = ln.accept();
          c.write("first half, ");
          go_on.recv();
          c.write("second half\n");
        });
        net::conn c = net::dial("tcp", ln.address());
        net::reader r(c, 16);
        c.set_read_deadline(std::chrono::steady_clock::now() + 30ms);
        try {
          r.read_line();
          ADD_FAILURE() << "no timeout";
        } catch (const std::system_error& e) {
          EXPECT_EQ(e.code(), std::errc::timed_out) << e.what();
        }
        c.set_read_deadline(std::chrono::steady_clock::time_point::max());
        go_on.send(1);
        EXPECT_EQ(r.read_line(), "first half, second half");
        s.wait();
      },
      procs_opt(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Procs, ReaderProcs, ::testing::ValuesIn(weft_test::all_procs()), procs_name);

}  // namespace
