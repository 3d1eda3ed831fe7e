// src/wire/stream.cpp: plain or TLS, one branch per call (stream.hpp).
#include "wire/stream.hpp"

#include <utility>

#include "net/netfd.hpp"
#include "wire/tls.hpp"

namespace weft::wire {

stream::stream() noexcept = default;
stream::stream(net::conn c) noexcept : conn_(std::move(c)) {}
stream::stream(net::conn c, std::unique_ptr<tls_session> tls) noexcept : conn_(std::move(c)), tls_(std::move(tls)) {}
stream::stream(stream&&) noexcept = default;
stream& stream::operator=(stream&&) noexcept = default;
stream::~stream() = default;

std::size_t stream::read(std::span<std::byte> buf) {
  if (!tls_) return conn_.read(buf);
  return tls_->read(conn_, buf);
}

std::optional<std::size_t> stream::read_unless_closed(std::span<std::byte> buf) {
  if (!tls_) return detail::net_access::read_unless_closed(conn_, buf);
  return tls_->read(conn_, buf);
}

void stream::write(std::span<const std::byte> buf) {
  if (!tls_) return conn_.write(buf);
  tls_->write(conn_, buf);
}

std::size_t stream::try_write(std::span<const std::byte> buf) {
  if (!tls_) return detail::net_access::try_write(conn_, buf);
  return tls_->try_write(conn_, buf);
}

void stream::wait_after_short_reads() noexcept { detail::net_access::wait_after_short_reads(conn_); }

bool stream::output_pending() const noexcept { return tls_ && tls_->output_pending(); }

void stream::flush() {
  if (tls_) tls_->flush(conn_);
}

void stream::close() noexcept {
  if (tls_) tls_->close(conn_);
  conn_.close();
}

}  // namespace weft::wire
