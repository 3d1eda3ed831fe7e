// src/wire/stream.hpp: a connection's bytes, plain or under TLS.
//
// wire::link, the handshakes and the tools read and write a stream: a
// net::conn, and, when the endpoint asked for TLS, a tls_session over it
// (wire/tls.hpp: the design of the TLS side). Plain, every call is the
// conn's own behind one test of a null pointer: TLS off costs a branch per
// read or write, nothing per byte, and no virtual call.
//
// The contract is net::conn's (one reader and one writer may run at once;
// close() from any goroutine wakes both; deadlines; 0 from read at end of
// stream), plus what a TLS session needs from its user:
//   - try_write may take bytes it could not put on the socket yet (TLS
//     encrypts them at once); output_pending() then says so, and somebody
//     must call flush() (wire::link's writer does). Plain, it never does.
//   - a read may also leave output pending (a TLS KeyUpdate's answer), for
//     the same flush.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <weft/net.hpp>

namespace weft::wire {

class tls_session;

class stream {
 public:
  stream() noexcept;  // not connected: operations fail as on a closed conn
  explicit stream(net::conn c) noexcept;  // plain
  stream(net::conn c, std::unique_ptr<tls_session> tls) noexcept;  // TLS, handshake done
  stream(stream&&) noexcept;
  stream& operator=(stream&&) noexcept;
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream();  // closes the conn (no close_notify: call close() for that)

  // As net::conn::read: at least 1 byte, 0 at end of stream. Throws
  // std::system_error (a TLS record that does not decrypt: EPROTO).
  std::size_t read(std::span<std::byte> buf);
  // As read, but empty once close() was called (from any goroutine) where
  // read throws: a reader whose normal end is that close unwinds nothing
  // (net_access::read_unless_closed). Under TLS it throws as read does.
  std::optional<std::size_t> read_unless_closed(std::span<std::byte> buf);
  // As net::conn::write: every byte, or throws.
  void write(std::span<const std::byte> buf);
  void write(std::string_view s) { write(std::as_bytes(std::span<const char>(s.data(), s.size()))); }
  // Takes what it can without ever parking: how many bytes of buf (0 if
  // another write holds the stream or the socket is full). Plain: the
  // bytes taken are on the socket. TLS: they may be encrypted and queued;
  // output_pending() tells. Throws as write.
  std::size_t try_write(std::span<const std::byte> buf);
  // Bytes taken but not yet written (TLS only); flush() writes them,
  // parking as write does.
  bool output_pending() const noexcept;
  void flush();
  // Closes: under TLS sends close_notify first, if the socket takes it at
  // once (never parks for it). Idempotent; wakes a blocked read or write.
  void close() noexcept;

  // A read after a short one waits for the socket's next edge rather than
  // finding it empty (net/conn.cpp: sound for weft's framed traffic, which
  // carries no urgent data or descriptors). REQUIRES: no read in progress.
  void wait_after_short_reads() noexcept;

  void set_deadline(net::time_point t) { conn_.set_deadline(t); }
  void set_read_deadline(net::time_point t) { conn_.set_read_deadline(t); }
  void set_write_deadline(net::time_point t) { conn_.set_write_deadline(t); }
  std::string remote_address() const { return conn_.remote_address(); }
  bool tls() const noexcept { return tls_ != nullptr; }

 private:
  net::conn conn_;
  std::unique_ptr<tls_session> tls_;
};

}  // namespace weft::wire
