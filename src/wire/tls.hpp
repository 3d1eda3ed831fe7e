// src/wire/tls.hpp: TLS between weftd, programs, workers and tools
// (`weftd --tls`, endpoints "tls:host:port" and "tls:unix:/path",
// WEFT_TLS=1; docs/protocol.md, "Transport security").
//
// Roles. Who dials is the TLS client, who accepts the TLS server: weftd and
// a worker's peer listener serve; stubs, the weft command, the conformance
// suite and a worker dialing a peer are clients.
//
// Identity: the cluster key, as TLS 1.3 external PSK. Both ends derive
// psk = HMAC-SHA256(cluster key, "weft tls13 external psk v1") under the
// identity "weft-cluster-v1", and shake hands in psk_dhe_ke mode only
// (OpenSSL's default; psk_ke, without (EC)DHE, is not offered): an
// ephemeral X25519 exchange gives forward secrecy, and the PSK
// authenticates both ends at once (a client without the key cannot make
// the ClientHello's binder; a server without it cannot make its Finished).
// Suites: TLS_AES_128_GCM_SHA256 and TLS_CHACHA20_POLY1305_SHA256, the
// ones whose hash is the PSK's. Why PSK: every member of a cluster already
// holds the key file; certificates would add files to make, distribute,
// pin, rotate and let expire, and a self-signed server certificate
// authenticates only the server (the client would still prove itself with
// the key). Rejected for now: --tls-cert/--tls-key/--tls-ca (an operator's
// own PKI); it can be added beside PSK for clusters that have one.
//
// What the cluster key still does: the protocol's challenge-response
// (wire/cluster_key.hpp) runs inside TLS exactly as over a plain
// connection, so one rule authorizes every transport and weftd's log still
// says "key proven". TLS uses a key derived from the cluster key, never the
// key itself, so the two uses share no key. As with the challenge-response,
// a key file of low entropy (a password) could be guessed offline from a
// recorded handshake; weft's own keys are 32 random bytes.
//
// The netpoller. OpenSSL never touches the socket: it reads ciphertext from
// a memory BIO that the session fills from net::conn::read, and writes into
// one that the session empties with net::conn::write. Waiting is parking a
// goroutine on the netpoller, as for a plain conn; no OS thread blocks.
//
// Concurrency. An SSL object is not thread-safe, and a stream has a reader
// and a writer at once (wire::link). Every SSL_* call and the queue of
// ciphertext to send (out_) are under one spinlock, held for CPU work on at
// most one 64 KiB chunk and never across a park or a system call. Writing
// to the socket is serialized by write_mu_ and always takes out_ from the
// front, so ciphertext leaves in the order OpenSSL made it. OpenSSL's error
// queue is per thread, and a goroutine may resume on another thread: each
// call clears it first and reads it before the lock is dropped (nothing
// parks in between).
//
// Renegotiation, tickets, close. TLS 1.3 only, so there is no
// renegotiation; a peer's KeyUpdate is answered by OpenSSL, and any bytes a
// read makes are queued for the writer (stream::output_pending). No
// session tickets, no resumption, no early data (0-RTT would be
// replayable). close() sends close_notify if the socket takes it at once,
// then closes. A close_notify received is end of stream; so is a transport
// EOF without one between records: the frame layer above reports a cut in
// mid-frame, and a cut between frames is what anyone on the path can do to
// any connection. An EOF inside a record is ECONNRESET.
//
// A bad peer. A server whose client's first byte is not a TLS handshake
// record (a plain weft client, or garbage) answers with one plain weft
// Error frame saying which address to use, closes after a short linger, and
// throws for its caller to log. A client that reads plain bytes where TLS
// records should be says the server does not speak TLS and which address
// to use. A wrong key fails at the server's binder check (it alerts
// decrypt_error and throws unauthorized) and at the client (unauthorized,
// naming the key). Any other failure is remote_error{protocol} with
// OpenSSL's reason. Handshakes end by the deadline the caller set on the
// conn; a record that fails to decrypt later is EPROTO, and the link dies.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <weft/mutex.hpp>
#include <weft/net.hpp>

#include "platform/spinlock.hpp"
#include "platform/thread_annotations.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct bio_st BIO;

namespace weft::wire {

// WEFT_TLS=1 (or any value but "" and "0"): every connection this process
// makes is TLS, and weftd listens with --tls.
bool tls_from_env();

// One side's TLS settings: the PSK derived from a cluster key. Shared by
// every session of that side; immutable once made.
class tls_context {
 public:
  enum class role { client, server };
  // Throws std::invalid_argument for an empty key, std::runtime_error if
  // OpenSSL cannot make the context.
  tls_context(role r, std::string_view cluster_key);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  role side() const noexcept { return role_; }
  // The derived PSK (for the callbacks).
  const std::string& psk() const noexcept { return psk_; }
  SSL_CTX* native() const noexcept { return ctx_; }

 private:
  role role_;
  std::string psk_;
  SSL_CTX* ctx_ = nullptr;
};

// One TLS connection's state over a net::conn that its stream owns (every
// call is given that conn).
class tls_session {
 public:
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;
  ~tls_session();

  std::size_t read(net::conn& c, std::span<std::byte> buf);
  void write(net::conn& c, std::span<const std::byte> buf);
  std::size_t try_write(net::conn& c, std::span<const std::byte> buf);
  bool output_pending() const noexcept;
  void flush(net::conn& c);
  // close_notify, if the socket takes it at once. The caller closes c.
  void close(net::conn& c) noexcept;

 private:
  friend std::unique_ptr<tls_session> tls_connect(net::conn& c, std::shared_ptr<const tls_context> ctx,
                                                  std::string_view plain_hint);
  friend std::unique_ptr<tls_session> tls_accept(net::conn& c, std::shared_ptr<const tls_context> ctx,
                                                 std::string_view plain_refusal);
  explicit tls_session(std::shared_ptr<const tls_context> ctx);
  // The handshake, driven in the calling goroutine before anyone else has
  // the session.
  void handshake(net::conn& c, std::string_view plain_text);
  // Moves what OpenSSL wrote into out_.
  void take_output() REQUIRES(lock_);
  // Encrypts buf (at most one chunk) into out_; throws EPROTO.
  void encrypt(std::span<const std::byte> buf);
  // Writes out_ to the socket, from the front. park: as conn::write (throws);
  // else only what the socket takes now; whether out_ is empty after.
  bool drain(net::conn& c, bool park) REQUIRES(write_mu_);
  // Reads ciphertext from the socket into the read BIO; false at EOF.
  bool fill(net::conn& c);

  std::shared_ptr<const tls_context> ctx_;
  mutable detail::spinlock lock_;  // SSL_* calls and out_ (see the top)
  SSL* ssl_ PT_GUARDED_BY(lock_) = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_; used under lock_
  BIO* wbio_ = nullptr;
  std::string out_ GUARDED_BY(lock_);  // ciphertext to send, in order
  weft::mutex write_mu_;  // one socket writer at a time, from out_'s front
  std::string sending_ GUARDED_BY(write_mu_);  // the part of out_ being written
  weft::mutex read_mu_;  // one reader at a time
  std::string rbuf_;  // the reader's socket buffer (under read_mu_)
  bool eof_ = false;  // the reader saw the transport end (under read_mu_)
  std::atomic<bool> closed_{false};
};

// The client's handshake over c, within c's deadline. plain_hint: the
// address to suggest when the server answers in plain bytes ("tcp:h:p").
// Throws as wire::connect (endpoint.hpp) says.
std::unique_ptr<tls_session> tls_connect(net::conn& c, std::shared_ptr<const tls_context> ctx,
                                         std::string_view plain_hint);
// The server's handshake over c, within c's deadline. A client that does
// not start with a TLS record is sent one plain Error frame whose message is
// plain_refusal (if not empty), then the connection lingers until the client
// closes (1 s at most), and remote_error{refused} is thrown. A client that
// closes before its first byte (a probe: does anyone listen?) is
// remote_error{lost}; a wrong key remote_error{unauthorized}; a deadline
// std::system_error(timed_out). c stays the caller's (and open) whatever
// happens.
std::unique_ptr<tls_session> tls_accept(net::conn& c, std::shared_ptr<const tls_context> ctx,
                                        std::string_view plain_refusal);

}  // namespace weft::wire
