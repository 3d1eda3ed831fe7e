// src/wire/link.cpp: the outbox, the writer and the reader (design in
// link.hpp).
#include "wire/link.hpp"

#include <exception>

#include <weft/select.hpp>
#include <weft/timer.hpp>

#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include <weft/errors.hpp>

#include "runtime/runtime.hpp"
#include "weft/runtime/v1/runtime.pb.h"

namespace weft::wire {

link::link(stream s, std::string peer, std::uint32_t max_frame)
    : conn_(std::move(s)), peer_(std::move(peer)), max_frame_(max_frame), decoder_(max_frame) {
  // Each reply or request is read whole, mostly in one recv: the next read
  // waits for the peer's next bytes rather than asking the socket first.
  conn_.wait_after_short_reads();
}

std::size_t link::outbox_size() const noexcept {
  detail::lock_scope lk(lock_);
  return outbox_.size();
}

void link::send(const frame& f) { send_all(std::span<const frame>(&f, 1)); }

template <class Encode>
void link::send_encoded(Encode encode) {
  if (closed()) throw remote_error(remote_errc::lost, "weft: link to " + peer_ + " is closed");
  bool ring = false, full = false, direct = false;
  std::exception_ptr failed;  // what could not be encoded; what was, goes
  {
    detail::lock_scope lk(lock_);
    const bool idle = !writing_ && outbox_.empty() && !closing_.load(std::memory_order_relaxed) &&
                      !bursting_.load(std::memory_order_relaxed);
    bool defer = false;  // to the writer, after the goroutines waiting to run here (link.hpp, "Many senders")
    if (idle) {
      if (direct_sends_left_ > 0) {
        --direct_sends_left_;
      } else {
        defer = weft::detail::others_runnable_here();
      }
    }
    if (idle && !defer) {
      writing_ = true;
      direct = true;
    } else {
      deferred_batch_ = deferred_batch_ || defer;
      ++outbox_sends_;
      ring = outbox_.empty() && !writing_;
      failed = encode(outbox_);  // queued: encoded in place, as under load most frames are
      full = outbox_.size() > max_outbox;
      ring = ring && !outbox_.empty();
    }
  }
  if (direct) {
    std::string bytes;
    failed = encode(bytes);
    write_through(bytes);  // gives `writing` back, even when empty
    if (failed) std::rethrow_exception(failed);
    return;
  }
  if (full) {
    close();
    throw remote_error(remote_errc::lost, "weft: " + peer_ + " is not reading: more than " +
                                              std::to_string(max_outbox >> 20) + " MiB wait to be sent to it");
  }
  if (ring) ring_doorbell();
  if (failed) std::rethrow_exception(failed);
}

void link::send_all(std::span<const frame> fs) {
  if (fs.empty() && !closed()) return;
  send_encoded([fs, this](std::string& out) -> std::exception_ptr {
    for (const frame& f : fs) {
      try {
        append_frame(f, out, max_frame_);
      } catch (...) {
        return std::current_exception();  // the frames before it go
      }
    }
    return nullptr;
  });
}

void link::send_framed(std::string_view framed) {
  if (framed.empty() && !closed()) return;
  send_encoded([framed](std::string& out) -> std::exception_ptr {
    out.append(framed);
    return nullptr;
  });
}

// Not doorbell_.try_send: that is a yield point, and send() is called with
// locks held (a select arming its remote cases). close() may close the
// doorbell between a caller's check of closed() and its ring; the frame is
// then lost with the link, which is what a send on a closing link means,
// and must not surface as closed_channel_error.
void link::ring_doorbell() noexcept {
  bool v = true;
  try {
    weft::detail::chan_try_send_no_yield(doorbell_.core(), &v);
  } catch (...) {}
}

void link::write_through(const std::string& bytes) noexcept {
  std::size_t n = 0;
  try {
    n = conn_.try_write(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
  } catch (const std::system_error&) {
    // Left to the writer, whose write fails the same way and closes the
    // link: closing here could park, and send() must not.
  }
  bytes_out_.fetch_add(n, std::memory_order_relaxed);
  bool ring;
  {
    detail::lock_scope lk(lock_);
    writing_ = false;
    if (n < bytes.size()) outbox_.insert(0, bytes, n, std::string::npos);
    // A writer told to close when flushed waits for this write to end;
    // TLS bytes taken but not written are the writer's to flush.
    ring = !outbox_.empty() || closing_.load(std::memory_order_acquire);
  }
  ring = ring || conn_.output_pending();
  if (ring) ring_doorbell();
}

void link::close_when_flushed() noexcept {
  closing_.store(true, std::memory_order_release);
  ring_doorbell();
}

bool link::wait_closed(std::chrono::nanoseconds limit) noexcept {
  try {
    weft::select(weft::on_recv(close_done_, [](std::optional<bool>) {}),
                 weft::on_recv(weft::after(limit), [](std::optional<std::chrono::steady_clock::time_point>) {}));
  } catch (...) {}
  return closed();
}

void link::write_loop() {
  // Readied after the goroutines queued on the sender's P, whose frames
  // then join this write (link.hpp, "Many senders").
  weft::detail::ready_me_lazily();
  std::string batch;
  while (!closed()) {
    bool sender_writing;
    {
      detail::lock_scope lk(lock_);
      sender_writing = writing_;  // it rings when done if anything waits, or to close
      if (!sender_writing) {
        batch.swap(outbox_);
        writing_ = !batch.empty();
        // Deferred batches that carry one send each (the goroutines that ran
        // meanwhile sent nothing here: other connections' handlers in a
        // server) only delay it: direct writes for a while.
        if (deferred_batch_) {
          lone_deferrals_ = outbox_sends_ <= 1 ? lone_deferrals_ + 1 : 0;
          if (lone_deferrals_ >= max_lone_deferrals) {
            lone_deferrals_ = 0;
            direct_sends_left_ = direct_sends_after_lone;
          }
        }
        deferred_batch_ = false;
        outbox_sends_ = 0;
      }
    }
    if (batch.empty()) {
      if (!sender_writing && conn_.output_pending()) {  // TLS: ciphertext a direct write or a read left
        try {
          conn_.flush();
        } catch (const std::system_error&) {
          close();
          break;
        }
        continue;
      }
      if (closing_.load(std::memory_order_acquire) && !sender_writing) {
        close();
        break;
      }
      if (!doorbell_.recv()) break;  // closed
      continue;
    }
    bool failed = false;
    try {
      conn_.write(batch);
    } catch (const std::system_error&) {
      failed = true;
    }
    {
      detail::lock_scope lk(lock_);
      writing_ = false;
    }
    if (failed) {
      close();
      break;
    }
    bytes_out_.fetch_add(batch.size(), std::memory_order_relaxed);
    batch.clear();
    if (batch.capacity() > (1u << 20)) batch.shrink_to_fit();  // a burst is over
  }
}

bool link::receive(frame& f) {
  for (;;) {
    std::string_view payload;
    switch (decoder_.next(&payload)) {
      case frame_decoder::status::ready:
        if (!parse_frame(payload, f))
          throw remote_error(remote_errc::protocol,
                             "weft: " + peer_ +
                                 " sent a frame that is not a weft.runtime.v1.Frame (a string field that is not "
                                 "UTF-8 is enough: docs/protocol.md, \"Text and bytes\")");
        // More bytes after this frame: a burst, whose replies leave together.
        bursting_.store(decoder_.buffered() != 0, std::memory_order_relaxed);
        return true;
      case frame_decoder::status::too_large:
        throw remote_error(remote_errc::protocol, "weft: " + peer_ + " announced a frame of " +
                                                      std::to_string(decoder_.announced()) + " bytes (limit " +
                                                      std::to_string(max_frame_) + ")");
      case frame_decoder::status::need_more: break;
    }
    bursting_.store(false, std::memory_order_relaxed);  // about to wait for the peer: sends go out at once
    constexpr std::size_t chunk = 64 * 1024;
    char* at = decoder_.prepare(chunk);
    std::optional<std::size_t> got;
    try {
      got = conn_.read_unless_closed(std::span<std::byte>(reinterpret_cast<std::byte*>(at), chunk));
    } catch (const std::system_error& e) {
      if (closed()) return false;
      throw remote_error(remote_errc::lost, "weft: reading from " + peer_ + ": " + e.what());
    }
    if (!got) return false;  // closed here (close() from another goroutine)
    const std::size_t n = *got;
    if (n == 0) {
      if (decoder_.buffered() != 0)
        throw remote_error(remote_errc::lost, "weft: " + peer_ + " closed the connection in the middle of a frame");
      return false;
    }
    decoder_.commit(n);
    bytes_in_.fetch_add(n, std::memory_order_relaxed);
    if (conn_.output_pending()) ring_doorbell();  // TLS: what the read made (a KeyUpdate's answer)
  }
}

void link::close() noexcept {
  if (closed_.exchange(true, std::memory_order_acq_rel)) {
    // Another goroutine is closing (the writer, after close_when_flushed,
    // parked until the reader leaves its read): return only once the
    // connection is closed. A caller that went on could end weft::run with
    // that closer abandoned mid-close, and the link's destructor would then
    // wait for it forever (a stub's detach did, under TSan's timing).
    try {
      (void)close_done_.recv();
    } catch (...) {}
    return;
  }
  try {
    doorbell_.close();
  } catch (...) {}
  conn_.close();
  try {
    close_done_.close();
  } catch (...) {}
}

}  // namespace weft::wire
