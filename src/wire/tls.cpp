// src/wire/tls.cpp: TLS 1.3 with the cluster key as PSK, over memory BIOs
// on weft's netpoller (design in tls.hpp).
#include "wire/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <weft/errors.hpp>

#include "net/netfd.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/cluster_key.hpp"
#include "wire/frame.hpp"
#include "wire/utf8.hpp"

namespace weft::wire {

namespace {

// Plaintext encrypted per lock hold, and ciphertext read per system call.
constexpr std::size_t chunk = 64 * 1024;
constexpr std::string_view psk_label = "weft tls13 external psk v1";
constexpr unsigned char psk_identity[] = {'w', 'e', 'f', 't', '-', 'c', 'l', 'u', 's', 't', 'e', 'r', '-', 'v', '1'};
// TLS_AES_128_GCM_SHA256: the PSK's session cipher (its hash, SHA-256, is
// what matters: the other allowed suite has it too).
constexpr unsigned char psk_cipher[] = {0x13, 0x01};
constexpr const char* suites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
// TLS record content types: change_cipher_spec, alert, handshake, application_data.
constexpr unsigned char record_ccs = 0x14, record_handshake = 0x16, record_appdata = 0x17;

// This thread's OpenSSL errors as text, oldest first; the queue is emptied.
// REQUIRES: called on the thread of the failing call, before any park.
std::string error_text() {
  std::string s;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    if (!s.empty()) s += "; ";
    s += reason ? reason : buf;
  }
  return s.empty() ? std::string("unknown TLS error") : s;
}

[[noreturn]] void throw_closed() {
  throw std::system_error(EBADF, std::generic_category(), "weft: TLS: use of closed network connection");
}

const tls_context* context_of(SSL* ssl) {
  return static_cast<const tls_context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// A session object that carries the PSK (TLS 1.3 external PSKs are handed
// to OpenSSL as sessions); null if OpenSSL cannot make one.
SSL_SESSION* psk_session(SSL* ssl, const std::string& psk) {
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, psk_cipher);
  if (cipher == nullptr) return nullptr;
  SSL_SESSION* s = SSL_SESSION_new();
  if (s == nullptr) return nullptr;
  if (SSL_SESSION_set1_master_key(s, reinterpret_cast<const unsigned char*>(psk.data()), psk.size()) != 1 ||
      SSL_SESSION_set_cipher(s, cipher) != 1 || SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

// The client's PSK, offered in its ClientHello.
int use_psk(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* idlen, SSL_SESSION** sess) {
  *id = nullptr;
  *idlen = 0;
  *sess = nullptr;
  SSL_SESSION* s = psk_session(ssl, context_of(ssl)->psk());
  if (s == nullptr) return 0;
  // Called again after a HelloRetryRequest with the negotiated hash: a PSK
  // of another hash cannot be used (both our suites are SHA-256, so this
  // only happens against a foreign server).
  if (md != nullptr && SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s)) != md) {
    SSL_SESSION_free(s);
    return 1;
  }
  *sess = s;
  *id = psk_identity;
  *idlen = sizeof psk_identity;
  return 1;
}

// The server's lookup of the client's PSK identity. Another identity finds
// nothing, and the handshake fails (the server has no certificate).
int find_psk(SSL* ssl, const unsigned char* id, std::size_t idlen, SSL_SESSION** sess) {
  *sess = nullptr;
  if (idlen != sizeof psk_identity || std::memcmp(id, psk_identity, idlen) != 0) return 1;
  *sess = psk_session(ssl, context_of(ssl)->psk());
  return *sess != nullptr ? 1 : 0;
}

// How a failed handshake reads to the side that failed it.
[[noreturn]] void throw_handshake(bool server, int reason, const std::string& why) {
  if (server && reason == SSL_R_BINDER_DOES_NOT_VERIFY)
    throw remote_error(remote_errc::unauthorized,
                       "TLS: the client holds another cluster key (its PSK binder does not verify)");
  // OpenSSL 3.0 alerts illegal_parameter for a binder that does not
  // verify, later versions decrypt_error: from a weft server either means
  // the keys differ (everything else of a handshake is fixed by weft).
  if (!server && (reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR || reason == SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER))
    throw remote_error(remote_errc::unauthorized,
                       "TLS: the server refused this process's cluster key (" + why +
                           "): it holds another; use the key file its weftd was started with (WEFT_KEY_FILE)");
  throw remote_error(remote_errc::protocol, "TLS handshake failed: " + why);
}

// A plain client at a TLS server: tell it in its own protocol what to do,
// then let it read that before the socket goes (closing with its bytes
// unread would reset the connection, and it might never see the message).
void refuse_plain(net::conn& c, std::string_view message, std::string& scratch) {
  if (message.empty()) return;
  try {
    frame f;
    f.mutable_error()->set_code(weft::runtime::v1::Error::REFUSED);
    f.mutable_error()->set_message(utf8_text(std::string(message)));
    std::string out;
    append_frame(f, out);
    c.write(out);
    c.close_write();
    c.set_read_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(1));
    std::size_t total = 0;
    for (;;) {
      std::size_t n = c.read(std::as_writable_bytes(std::span<char>(scratch.data(), scratch.size())));
      total += n;
      if (n == 0 || total > (1u << 20)) break;
    }
  } catch (const std::exception&) {}
}

std::string byte_text(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

}  // namespace

bool tls_from_env() {
  const char* v = std::getenv("WEFT_TLS");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

// ---- tls_context

tls_context::tls_context(role r, std::string_view cluster_key) : role_(r) {
  if (cluster_key.empty())
    throw std::invalid_argument("weft: TLS needs the cluster key (weftd --key FILE, WEFT_KEY_FILE)");
  psk_ = auth_proof(cluster_key, psk_label);
  ctx_ = SSL_CTX_new(r == role::client ? TLS_client_method() : TLS_server_method());
  if (ctx_ == nullptr) throw std::runtime_error("weft: TLS: cannot make an SSL_CTX: " + error_text());
  bool ok = SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION) == 1 &&
            SSL_CTX_set_max_proto_version(ctx_, TLS1_3_VERSION) == 1 && SSL_CTX_set_ciphersuites(ctx_, suites) == 1;
  SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  ok = ok && SSL_CTX_set_num_tickets(ctx_, 0) == 1;
  SSL_CTX_set_max_early_data(ctx_, 0);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // no certificates: the PSK authenticates both ends
  SSL_CTX_set_app_data(ctx_, this);
  if (r == role::client)
    SSL_CTX_set_psk_use_session_callback(ctx_, use_psk);
  else
    SSL_CTX_set_psk_find_session_callback(ctx_, find_psk);
  if (!ok) {
    std::string why = error_text();
    SSL_CTX_free(ctx_);
    throw std::runtime_error("weft: TLS: cannot configure TLS 1.3 with PSK: " + why);
  }
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

// ---- tls_session

tls_session::tls_session(std::shared_ptr<const tls_context> ctx) : ctx_(std::move(ctx)) {
  SSL* s = SSL_new(ctx_->native());
  if (s == nullptr) throw std::runtime_error("weft: TLS: SSL_new failed: " + error_text());
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    SSL_free(s);
    throw std::runtime_error("weft: TLS: BIO_new failed");
  }
  // An empty BIO means "no bytes yet" (WANT_READ), never end of stream:
  // the transport's end is the session's to decide (eof_).
  BIO_set_mem_eof_return(rbio_, -1);
  BIO_set_mem_eof_return(wbio_, -1);
  SSL_set_bio(s, rbio_, wbio_);  // s owns them now
  if (ctx_->side() == tls_context::role::client)
    SSL_set_connect_state(s);
  else
    SSL_set_accept_state(s);
  rbuf_.resize(chunk);
  detail::lock_scope lk(lock_);
  ssl_ = s;
}

tls_session::~tls_session() {
  detail::lock_scope lk(lock_);
  SSL_free(ssl_);
}

void tls_session::take_output() {
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio_, &data);
  if (n > 0) {
    out_.append(data, static_cast<std::size_t>(n));
    (void)BIO_reset(wbio_);
  }
}

bool tls_session::fill(net::conn& c) {
  std::size_t n = c.read(std::as_writable_bytes(std::span<char>(rbuf_.data(), rbuf_.size())));
  if (n == 0) {
    eof_ = true;
    return false;
  }
  detail::lock_scope lk(lock_);
  if (BIO_write(rbio_, rbuf_.data(), static_cast<int>(n)) != static_cast<int>(n))
    throw std::system_error(ENOMEM, std::generic_category(), "weft: TLS: cannot buffer what was read");
  return true;
}

bool tls_session::drain(net::conn& c, bool park) {
  for (;;) {
    {
      detail::lock_scope lk(lock_);
      if (out_.empty()) return true;
      sending_.swap(out_);
    }
    const auto bytes = std::as_bytes(std::span<const char>(sending_.data(), sending_.size()));
    if (park) {
      try {
        c.write(bytes);
      } catch (...) {
        sending_.clear();
        throw;
      }
    } else {
      std::size_t n = 0;
      try {
        n = detail::net_access::try_write(c, bytes);
      } catch (...) {
        sending_.clear();
        throw;
      }
      if (n < sending_.size()) {
        detail::lock_scope lk(lock_);
        out_.insert(0, sending_, n, std::string::npos);  // before what was queued meanwhile
        sending_.clear();
        return false;
      }
    }
    sending_.clear();
  }
}

void tls_session::encrypt(std::span<const std::byte> buf) {
  if (closed_.load(std::memory_order_acquire)) throw_closed();
  std::string why;
  bool ok;
  {
    detail::lock_scope lk(lock_);
    ERR_clear_error();
    std::size_t written = 0;
    ok = SSL_write_ex(ssl_, buf.data(), buf.size(), &written) == 1 && written == buf.size();
    if (!ok) why = error_text();
    take_output();
  }
  if (!ok) throw std::system_error(EPROTO, std::generic_category(), "weft: TLS: " + why);
}

std::size_t tls_session::read(net::conn& c, std::span<std::byte> buf) {
  if (buf.empty()) return 0;
  detail::lock_scope rl(read_mu_);
  for (;;) {
    if (closed_.load(std::memory_order_acquire)) throw_closed();
    int r, err = SSL_ERROR_NONE;
    std::size_t got = 0;
    std::string why;
    bool output;
    {
      detail::lock_scope lk(lock_);
      ERR_clear_error();
      r = SSL_read_ex(ssl_, buf.data(), buf.size(), &got);
      if (r != 1) {
        err = SSL_get_error(ssl_, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_ZERO_RETURN) why = error_text();
      }
      take_output();
      output = !out_.empty();
    }
    // What reading made (a KeyUpdate's answer) goes now if nobody writes
    // and the socket takes it; else it waits for the writer's flush.
    if (output && write_mu_.try_lock()) {
      try {
        drain(c, false);
      } catch (const std::exception&) {}
      write_mu_.unlock();
    }
    if (r == 1) return got;
    if (err == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify
    if (err == SSL_ERROR_WANT_READ) {
      if (!eof_ && fill(c)) continue;
      // The transport ended. Between records that is an end of stream (see
      // the top); inside one, bytes were cut off.
      bool partial;
      {
        detail::lock_scope lk(lock_);
        partial = SSL_has_pending(ssl_) == 1 || BIO_ctrl_pending(rbio_) > 0;
      }
      if (partial)
        throw std::system_error(ECONNRESET, std::generic_category(),
                                "weft: TLS: the peer closed the connection in the middle of a record");
      return 0;
    }
    throw std::system_error(EPROTO, std::generic_category(), "weft: TLS: " + why);
  }
}

void tls_session::write(net::conn& c, std::span<const std::byte> buf) {
  detail::lock_scope wl(write_mu_);
  std::size_t done = 0;
  do {
    std::size_t k = std::min(buf.size() - done, chunk);
    if (k != 0) encrypt(buf.subspan(done, k));
    done += k;
    drain(c, true);
  } while (done < buf.size());
}

std::size_t tls_session::try_write(net::conn& c, std::span<const std::byte> buf) {
  if (buf.empty() || !write_mu_.try_lock()) return 0;
  std::size_t k = 0;
  try {
    if (drain(c, false)) {  // else earlier ciphertext still waits for room
      k = std::min(buf.size(), chunk);
      encrypt(buf.first(k));
      drain(c, false);
    }
  } catch (...) {
    write_mu_.unlock();
    throw;
  }
  write_mu_.unlock();
  return k;
}

bool tls_session::output_pending() const noexcept {
  detail::lock_scope lk(lock_);
  return !out_.empty();
}

void tls_session::flush(net::conn& c) {
  detail::lock_scope wl(write_mu_);
  drain(c, true);
}

void tls_session::close(net::conn& c) noexcept {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  {
    detail::lock_scope lk(lock_);
    if (SSL_is_init_finished(ssl_)) {
      ERR_clear_error();
      (void)SSL_shutdown(ssl_);
      take_output();
      ERR_clear_error();
    }
  }
  if (write_mu_.try_lock()) {
    try {
      drain(c, false);
    } catch (const std::exception&) {}
    write_mu_.unlock();
  }
}

void tls_session::handshake(net::conn& c, std::string_view plain_text) {
  const bool server = ctx_->side() == tls_context::role::server;
  bool first = true;
  for (;;) {
    int r, err = SSL_ERROR_NONE, reason = 0;
    std::string why;
    {
      detail::lock_scope lk(lock_);
      ERR_clear_error();
      r = SSL_do_handshake(ssl_);
      if (r != 1) {
        err = SSL_get_error(ssl_, r);
        if (err != SSL_ERROR_WANT_READ) {
          reason = ERR_GET_REASON(ERR_peek_last_error());
          why = error_text();
        }
      }
      take_output();
    }
    {
      // What the handshake wrote, an alert included when it failed (then
      // a peer that is gone does not matter).
      detail::lock_scope wl(write_mu_);
      try {
        drain(c, true);
      } catch (const std::system_error&) {
        if (err == SSL_ERROR_NONE || err == SSL_ERROR_WANT_READ) throw;
      }
    }
    if (r == 1) return;
    if (err != SSL_ERROR_WANT_READ) throw_handshake(server, reason, why);
    if (!fill(c)) {
      if (server && first) throw remote_error(remote_errc::lost, "closed before the TLS handshake");
      throw remote_error(remote_errc::unreachable, "closed the connection in the TLS handshake");
    }
    if (first) {
      first = false;
      const unsigned char b = static_cast<unsigned char>(rbuf_[0]);
      if (server && b != record_handshake) {
        refuse_plain(c, plain_text, rbuf_);
        throw remote_error(remote_errc::refused, "a client that does not speak TLS (its first byte is " + byte_text(b) +
                                                     ", not a TLS handshake record)");
      }
      if (!server && (b < record_ccs || b > record_appdata))
        throw remote_error(remote_errc::refused, "it does not speak TLS (it answered in plain bytes): connect to " +
                                                     std::string(plain_text) + ", or start it with --tls");
    }
  }
}

std::unique_ptr<tls_session> tls_connect(net::conn& c, std::shared_ptr<const tls_context> ctx,
                                         std::string_view plain_hint) {
  if (ctx->side() != tls_context::role::client) throw std::invalid_argument("weft: tls_connect needs a client context");
  std::unique_ptr<tls_session> s(new tls_session(std::move(ctx)));
  s->handshake(c, plain_hint);
  return s;
}

std::unique_ptr<tls_session> tls_accept(net::conn& c, std::shared_ptr<const tls_context> ctx,
                                        std::string_view plain_refusal) {
  if (ctx->side() != tls_context::role::server) throw std::invalid_argument("weft: tls_accept needs a server context");
  std::unique_ptr<tls_session> s(new tls_session(std::move(ctx)));
  s->handshake(c, plain_refusal);
  return s;
}

}  // namespace weft::wire
