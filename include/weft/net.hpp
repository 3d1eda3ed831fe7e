// weft/net.hpp: stream sockets (TCP and Unix domain) for goroutines, in the
// shape of Go's net.Listen / net.Dial.
//
//   weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
//   weft::go([&] { weft::net::conn c = ln.accept(); ... });
//   weft::net::conn d = weft::net::dial("tcp", ln.address());
//
// Networks: "tcp" (IPv4 or IPv6), "tcp4", "tcp6", "unix" (the address is a
// path; "@name" is a Linux abstract socket). TCP addresses are "host:port"
// or "[v6-host]:port"; the host may be a name (resolved through
// weft::blocking) and is empty for every local address when listening.
//
// Every call that waits (accept, dial, read, write) parks the calling
// goroutine on the netpoller, never its thread. Failures throw
// std::system_error whose what() names the operation and the address, e.g.
// "weft::net::dial tcp 127.0.0.1:1: Connection refused", and whose code()
// is the errno; a passed deadline is std::errc::timed_out; an operation on a
// closed conn or listener (also one woken by close()) compares equal to
// std::errc::bad_file_descriptor ("use of closed network connection").
//
// conn and listener are movable, not copyable, and close on destruction.
// One goroutine may read while another writes (readers are serialized among
// themselves, and so are writers); close() from any goroutine wakes the ones
// blocked in accept, read or write on that object, and returns once none is
// inside.
//
// Buffered reading (read_line, read_until, read_full: Go's bufio.Reader)
// and copy (io.Copy) are in <weft/net_io.hpp>.
#pragma once

#include <weft/detail/cxx20.hpp>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace weft {

namespace detail {
struct netfd;
struct net_access;
}  // namespace detail

namespace net {

using time_point = std::chrono::steady_clock::time_point;

// A connected stream socket.
class conn {
 public:
  // A conn that is not connected: every operation fails as on a closed one.
  conn() noexcept = default;
  conn(conn&& other) noexcept;
  conn& operator=(conn&& other) noexcept;  // closes what this held
  conn(const conn&) = delete;
  conn& operator=(const conn&) = delete;
  ~conn();  // close()

  // Reads what is there (at least 1 byte, at most buf.size()), waiting until
  // something is. Returns 0 at end of stream (the peer closed or shut down
  // writing), and for an empty buf.
  std::size_t read(std::span<std::byte> buf);
  // Reads until buf is full or the stream ends; returns the bytes read,
  // fewer than buf.size() only at end of stream (Go's io.ReadFull).
  std::size_t read_full(std::span<std::byte> buf);
  // Writes every byte of buf, or throws (bytes may have been sent by then).
  // A peer that has gone away is an error (EPIPE/ECONNRESET), never SIGPIPE.
  void write(std::span<const std::byte> buf);
  void write(std::string_view s);

  // Shuts down the sending side (the peer reads end of stream); reading
  // goes on.
  void close_write();
  // Closes the socket; wakes goroutines blocked on it, which throw. Closing
  // a closed conn does nothing.
  void close();

  // Deadlines for the reads / writes in progress and to come (both for
  // set_deadline). time_point::max() clears one; one already passed makes
  // operations fail at once. On expiry the operation throws
  // std::system_error with std::errc::timed_out and the conn stays usable:
  // set a new deadline (or clear it) and go on.
  void set_deadline(time_point t);
  void set_read_deadline(time_point t);
  void set_write_deadline(time_point t);

  // This end's and the peer's address, formatted as listener::address().
  std::string local_address() const;
  std::string remote_address() const;

 private:
  friend struct weft::detail::net_access;
  explicit conn(detail::netfd* fd) noexcept : fd_(fd) {}
  detail::netfd* fd_ = nullptr;
};

// A listening socket.
class listener {
 public:
  listener() noexcept = default;  // not listening: accept fails as on a closed one
  listener(listener&& other) noexcept;
  listener& operator=(listener&& other) noexcept;
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener();  // close()

  // Waits for the next connection and returns it.
  conn accept();
  // Stops listening (a Unix socket's file is removed); wakes a goroutine
  // blocked in accept, which throws. Closing twice does nothing.
  void close();
  // The bound address: "127.0.0.1:41234", "[::1]:41234", a Unix path.
  std::string address() const;
  // A deadline for accept, as conn::set_deadline.
  void set_deadline(time_point t);

 private:
  friend struct weft::detail::net_access;
  explicit listener(detail::netfd* fd) noexcept : fd_(fd) {}
  detail::netfd* fd_ = nullptr;
};

// Listens on address ("host:port"; port 0 picks a free one; an empty host
// is every local address). TCP sockets get SO_REUSEADDR.
listener listen(std::string_view network, std::string_view address);

// Connects to address, trying each address the host resolves to in order
// until one accepts. TCP connections get TCP_NODELAY (Go's default). An
// empty host is the local system.
conn dial(std::string_view network, std::string_view address);
// As dial, giving up with std::errc::timed_out once timeout has passed
// (0: no timeout). Name resolution is not cut short.
conn dial(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout);

}  // namespace net
}  // namespace weft
