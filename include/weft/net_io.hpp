// weft/net_io.hpp: buffered reading and copying over a conn, in the shape of
// Go's bufio.Reader and io.Copy.
//
//   weft::net::reader r(c);                      // c: a weft::net::conn
//   while (std::optional<std::string> line = r.read_line()) handle(*line);
//
//   std::array<std::byte, 8> header;
//   if (!r.read_full(header)) return;           // the peer closed between messages
//   std::size_t n = weft::net::copy(out, r);     // the rest of the stream
//
// A reader works over anything with `std::size_t read(std::span<std::byte>)`
// that returns 0 at end of stream (net::conn, os::file, a test's fake), and
// copy between that and anything with `write(std::span<const std::byte>)`.
// A reader is not safe for concurrent use (as bufio.Reader): give each
// goroutine its own, or take turns.
//
// Design. Unread bytes live in one buffer, [r_, w_). Reads fill it from the
// source and hand out what the caller asked for; a line longer than the
// buffer grows it (doubling), and the buffer shrinks back to its first size
// once it is empty again, so one long line does not pin memory. Every
// method takes bytes out of the buffer only when it returns, so an
// exception from the source (a deadline: std::errc::timed_out) loses
// nothing: the next call starts where the failed one did. Rejected: bufio's
// fixed buffer with ReadLine's isPrefix (every caller then reassembles long
// lines), and a separate string that accumulates a long line (lost when a
// read throws).
#pragma once

#include <weft/detail/cxx20.hpp>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include <weft/net.hpp>

namespace weft::net {

// What reader and copy read from: read(buf) returns how many bytes it put
// in buf, 0 only at end of stream (or for an empty buf).
template <class S>
concept byte_source = requires(S& s, std::span<std::byte> buf) {
  { s.read(buf) } -> std::convertible_to<std::size_t>;
};
// What copy writes to: write(buf) writes every byte or throws.
template <class S>
concept byte_sink = requires(S& s, std::span<const std::byte> buf) {
  s.write(buf);
};

// Thrown by reader::read_full when the stream ends after some bytes of the
// request but before all of them (Go's io.ErrUnexpectedEOF). what():
// "weft::net::reader::read_full: 3 of 8 bytes: unexpected EOF".
class unexpected_eof_error : public std::system_error {
 public:
  unexpected_eof_error(std::size_t got, std::size_t wanted);
  std::size_t got() const noexcept { return got_; }  // bytes there were
  std::size_t wanted() const noexcept { return wanted_; }  // bytes asked for

 private:
  std::size_t got_;
  std::size_t wanted_;
};

class reader {
 public:
  static constexpr std::size_t default_size = 4096;
  static constexpr std::size_t min_size = 16;

  // Reads from src through a buffer of size bytes (at least min_size).
  // REQUIRES: src outlives the reader and is read only through it while
  // the reader holds bytes (they would be skipped).
  template <byte_source S>
  requires(!std::same_as<S, reader>) explicit reader(S& src, std::size_t size = default_size)
      : reader(
            &src, [](void* s, std::span<std::byte> buf) -> std::size_t { return static_cast<S*>(s)->read(buf); },
            size) {}
  // A moved-from reader has no source: it reads as an ended stream.
  reader(reader&& other) noexcept;
  reader& operator=(reader&& other) noexcept;
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;
  ~reader();

  // Reads what is there, buffered bytes first (at least 1, at most
  // buf.size()), waiting only when nothing is buffered. 0 at end of stream.
  std::size_t read(std::span<std::byte> buf);
  // Fills buf exactly. True when it did; false if the stream ended before
  // its first byte (a clean end between messages); throws
  // unexpected_eof_error if it ended partway (those bytes stay buffered).
  // (conn::read_full, unbuffered, returns a short count at the end instead.)
  bool read_full(std::span<std::byte> buf);
  // The bytes up to and including the next delim. At end of stream: what
  // is left without a delim (check back() to tell), or nullopt once
  // nothing is left.
  std::optional<std::string> read_until(char delim);
  // The next line without its "\n" or "\r\n"; a last line without "\n" is
  // returned as it is; nullopt once the stream has ended and nothing is
  // left. Lines of any length (the buffer grows to hold one).
  std::optional<std::string> read_line();
  // How many bytes are buffered: readable without waiting.
  std::size_t buffered() const noexcept { return w_ - r_; }

 private:
  using read_fn = std::size_t (*)(void*, std::span<std::byte>);
  reader(void* src, read_fn fn, std::size_t size);

  // Reads once from the source into the buffer, with room first for
  // `need` unread bytes (compacting or growing it). 0 at end of stream.
  std::size_t fill(std::size_t need);
  // Takes n buffered bytes out as a string.
  std::string take(std::size_t n);
  // Marks n buffered bytes read; an empty buffer starts over (and shrinks
  // back to size_).
  void consume(std::size_t n) noexcept;

  void* src_ = nullptr;
  read_fn read_ = nullptr;
  std::unique_ptr<std::byte[]> buf_;
  std::size_t size_ = 0;  // the size asked for at construction
  std::size_t cap_ = 0;  // the buffer's size now (grows for long lines)
  std::size_t r_ = 0;  // unread bytes are [r_, w_)
  std::size_t w_ = 0;
};

// Copies src to dst until src's end of stream (Go's io.Copy); returns the
// bytes copied. A reader as src gives its buffered bytes first. A failure
// of either side throws; what was copied by then has been written.
template <byte_source Src, byte_sink Dst>
std::size_t copy(Dst& dst, Src& src) {
  // On the heap: 32 KiB (io.Copy's size) is half a default goroutine stack.
  constexpr std::size_t chunk = 32 * 1024;
  std::unique_ptr<std::byte[]> buf(new std::byte[chunk]);
  std::size_t total = 0;
  for (;;) {
    const std::size_t n = src.read(std::span<std::byte>(buf.get(), chunk));
    if (n == 0) return total;
    dst.write(std::span<const std::byte>(buf.get(), n));
    total += n;
  }
}

}  // namespace weft::net
