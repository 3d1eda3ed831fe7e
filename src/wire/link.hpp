// src/wire/link.hpp: frames over a connection, for a stub or a server.
//
// Many goroutines send frames on one connection and one goroutine reads.
// send() never parks. When nothing is being written and nothing waits, it
// writes the frame itself, as far as the socket takes it at once (a
// request's or a reply's usual case: no hand-off to another goroutine,
// which cost a wake-up, often of another thread, per frame). Otherwise, or
// for what the socket did not take, it appends to an outbox under a
// spinlock and rings a doorbell (a channel of capacity one). A writer
// goroutine (write_loop) takes the whole outbox at once and writes it with
// one system call, so frames queued while a write is in flight leave
// together in the next: under load, many replies per write.
//
// Many senders: while other goroutines wait to run on a sender's P, its
// frame goes to the outbox too (it would wait for them anyway: the sender
// parks for its reply), and the writer is readied lazily, after them
// (runtime.hpp, ready_me_lazily; at most 32 of them): 64 goroutines each
// making a call leave in a few writes, not 64. Where it does not pay (four
// deferred writes in a row of one frame each: the goroutines that ran
// meanwhile send on other connections, as in a server), the next 256
// sends write directly, then deferring is tried again. A link's first 16
// sends write directly too: a short exchange (a worker's start, job and
// result) gains nothing from waiting and would only be later.
//
// A burst: while the reader holds more of the peer's bytes than the frame
// it just returned (`bursting`), a send goes to the outbox and the writer
// rather than out at once: the replies to a pipeline of requests then
// leave in one write when the reader next parks (or a handler does),
// rather than one system call each. Nothing waits on the reader's next
// frame: the writer runs as soon as the reader's goroutine parks.
//
// Order: one write at a time (`writing`, under the lock: a sender's direct
// write or the writer's batch). A sender writes directly only when the
// outbox is empty and nobody writes; what it could not write goes to the
// front of the outbox, before frames queued meanwhile, and it rings the
// doorbell if anything waits. The writer takes the outbox only when nobody
// writes. So bytes leave in the order their sends took the lock.
//
// Reading: a frame usually comes whole in one read, which finds the
// socket empty after it; the next read then waits for the peer's next
// bytes before it asks the socket (stream::wait_after_short_reads): one
// recv per frame rather than a second that says EAGAIN.
//
// Bounded memory: an outbox above max_outbox (a peer that stopped reading)
// fails the send (remote_error{lost}) and closes the link. The reader
// buffers at most one frame plus one read (frame.hpp).
//
// The bytes go over a wire::stream: a plain conn, or TLS over one
// (stream.hpp). Under TLS a sender's direct write may leave ciphertext
// the socket did not take (stream::output_pending); it rings the doorbell
// then, and the writer flushes it before anything else.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <weft/chan.hpp>
#include <weft/net.hpp>

#include "platform/spinlock.hpp"
#include "wire/frame.hpp"
#include "wire/stream.hpp"

namespace weft::wire {

class link {
 public:
  static constexpr std::size_t max_outbox = 64u << 20;

  link(stream s, std::string peer, std::uint32_t max_frame = default_max_frame);
  link(net::conn c, std::string peer, std::uint32_t max_frame = default_max_frame)
      : link(stream(std::move(c)), std::move(peer), max_frame) {}
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  // Queues f for the writer. Throws remote_error{lost} if the link is
  // closed or its outbox is full (then it closes the link).
  void send(const frame& f);
  // Queues fs in order, as one write when nothing else is being written (a
  // pipeline's requests: one system call rather than one each). Throws as
  // send() does; the frames before one that fails were queued.
  void send_all(std::span<const frame> fs);
  // Queues bytes that are whole frames already (wire/frame.hpp: length
  // prefix and payload each), as send does.
  void send_framed(std::string_view framed);
  // Reads the next frame; false once the peer has closed. Throws
  // remote_error{protocol} for a frame that is too large or not a Frame,
  // remote_error{lost} when reading fails. One reader at a time.
  bool receive(frame& f);
  // Writes bytes at once, bypassing the outbox: for a handshake, before
  // the writer runs. Throws std::system_error.
  void write_now(std::string_view bytes) { conn_.write(bytes); }
  // Clears the connection's deadlines (the handshake's).
  void clear_deadline() { conn_.set_deadline(std::chrono::steady_clock::time_point::max()); }
  // Writes what send queues until close(); run it in its own goroutine.
  // Returns when the link is closed or a write fails (then it closes it).
  void write_loop();
  // Ends the link: the writer returns, a parked reader wakes (receive
  // throws or returns false). Idempotent, and returns only once the
  // connection is closed, whoever began closing it.
  void close() noexcept;
  // Ends the link once the writer has written what is queued (a last
  // Error the peer should read before the connection goes). A peer that
  // does not read keeps the writer in write(): whoever calls this bounds
  // the wait and then calls close().
  void close_when_flushed() noexcept;
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  // Parks until the link is closed (by anyone) or `limit` has passed;
  // whether it is closed. REQUIRES: a goroutine.
  bool wait_closed(std::chrono::nanoseconds limit) noexcept;
  const std::string& peer() const noexcept { return peer_; }
  std::uint32_t max_frame() const noexcept { return max_frame_; }
  // Bytes written and read so far (for instrumentation).
  std::uint64_t bytes_out() const noexcept { return bytes_out_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_in() const noexcept { return bytes_in_.load(std::memory_order_relaxed); }
  // Bytes queued and not yet taken by the writer (a peer that reads
  // slowly makes this grow; at max_outbox the link closes).
  std::size_t outbox_size() const noexcept;

 private:
  // send_all's and send_framed's way: encode(out) appends the framed bytes
  // (and returns what failed to encode), into the outbox or, when nothing
  // else is written, a buffer this sender writes at once.
  template <class Encode>
  void send_encoded(Encode encode);
  void ring_doorbell() noexcept;
  // The write-through of send(): `bytes` while this sender holds `writing`,
  // which it gives back.
  void write_through(const std::string& bytes) noexcept;
  stream conn_;
  std::string peer_;
  std::uint32_t max_frame_;
  mutable detail::spinlock lock_;
  std::string outbox_ GUARDED_BY(lock_);
  bool writing_ GUARDED_BY(lock_) = false;  // a write is in flight
  // Deferring ("Many senders"): whether the outbox began with a deferred
  // send; sends in it; deferred batches in a row of one send each; and
  // sends to write directly before deferring again.
  static constexpr std::uint32_t max_lone_deferrals = 4;
  static constexpr std::uint32_t direct_sends_after_lone = 256;
  static constexpr std::uint32_t direct_sends_at_start = 16;
  bool deferred_batch_ GUARDED_BY(lock_) = false;
  std::uint32_t outbox_sends_ GUARDED_BY(lock_) = 0;
  std::uint32_t lone_deferrals_ GUARDED_BY(lock_) = 0;
  std::uint32_t direct_sends_left_ GUARDED_BY(lock_) = direct_sends_at_start;
  chan<bool> doorbell_{1};
  std::atomic<bool> closed_{false};
  chan<bool> close_done_;  // closed once the connection is: every close() waits for it
  std::atomic<bool> closing_{false};  // close_when_flushed was called
  std::atomic<bool> bursting_{false};  // the reader has more bytes to decode (a burst)
  frame_decoder decoder_;
  std::atomic<std::uint64_t> bytes_out_{0}, bytes_in_{0};
};

}  // namespace weft::wire
