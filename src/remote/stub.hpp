// src/remote/stub.hpp: the runtime stub's connection to its server.
//
// One stub per attached weft::run. It dials the server, says Hello, and
// then keeps three goroutines: the writer (wire::link::write_loop), the
// reader, which hands each reply to the request that waits for it, and the
// heartbeat, which pings after 250 ms of silence. A server that closes the
// connection or breaks the protocol ends the program at once (DESIGN.md:
// exit 2, "weft: fatal error: runtime server ADDR: WHY"), and so does one
// that says nothing for 3 s while the stub sent it 4 pings (stub.cpp:
// why both), unless the stub is detaching.
//
// Requests: call() registers a pending entry under a fresh id, sends, and
// parks until the reader delivers the final reply. Offers (select) go to
// the entry's on_reply hook instead, which runs on the reader's goroutine
// and must not park. Ids are never reused within a connection.
//
// A server that offers "trace" gets the runtime's events (trace_stream.hpp)
// from a fourth goroutine, and at detach the rest of them, then the
// Goodbye, flushed before the connection closes.
//
// Control (control.cpp): the server may send a Control request (a tool
// asked it to: docs/protocol.md, "Control"). The reader hands it to a
// goroutine of its own, never answering on the reader: a dump walks every
// goroutine, and EXIT waits for its reply to be written, which needs the
// reader to go on (heartbeats).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <weft/semaphore.hpp>

#include "platform/spinlock.hpp"
#include "remote/trace_stream.hpp"
#include "runtime/gstats.hpp"
#include "weft/runtime/v1/runtime.pb.h"
#include "wire/endpoint.hpp"
#include "wire/link.hpp"

namespace weft::remote::detail {

namespace v1 = weft::runtime::v1;

// What a request waits with. Either `done` is released with `reply` set
// (call), or on_reply sees every frame for the id (offers) and returns
// true when the request is over.
struct pending {
  v1::Frame reply;
  weft::binary_semaphore done{0};
  std::function<bool(v1::Frame&)> on_reply;  // set: the reader calls it instead
};

class stub {
 public:
  // Dials and shakes hands; throws remote_error (unreachable, refused,
  // protocol) with a message naming the address. worker_ticket: the
  // circuit's "ID.TOKEN" when a weftd started this process as a worker.
  // connected_fd >= 0: a socket already connected to that server (weftd
  // forked this worker with it: server/fork_server.hpp), taken instead of
  // dialing; plain, even when the server's address says TLS. first (only
  // with connected_fd): a request sent right behind the Hello, in the same
  // write, before the Welcome is read: weftd never asks a connection it
  // made for the key (K4), so the Welcome is the only answer that can
  // come between; its reply: first_reply().
  explicit stub(const wire::endpoint& server, const std::string& worker_ticket = {}, int connected_fd = -1,
                v1::Frame* first = nullptr);
  ~stub();
  stub(const stub&) = delete;
  stub& operator=(const stub&) = delete;

  // Starts the reader, writer and heartbeat goroutines.
  void start();
  // Says Goodbye (with reason) and closes; a loss after this is not fatal.
  // A goroutine that sends after this (start_request, start_requests,
  // send) is one the end of the run abandons: it parks for good instead of
  // failing, as Go abandons every goroutine when main returns, so that a
  // goroutine that was only asking the server something does not turn the
  // end of the run into a panic. A plain thread gets the error.
  void detach(const std::string& reason = "weft::run returned") noexcept;

  // Sends req (its id is set here) and parks until the final reply, which
  // it returns. An Error reply is returned, not thrown.
  v1::Frame call(v1::Frame req);
  // Sends req under a fresh id whose replies go to p->on_reply. Returns the id.
  std::uint64_t start_request(v1::Frame req, std::shared_ptr<pending> p);
  // start_request for each of reqs[i] with ps[i], sent in one write (a
  // pipeline, chan_batch.cpp). On a throw none of them is pending.
  void start_requests(std::vector<v1::Frame>& reqs, const std::vector<std::shared_ptr<pending>>& ps);
  // Sends a frame that is not a request (OfferReply, Cancel: they carry
  // the id of the request they answer).
  void send(const v1::Frame& f);

  // Whether the constructor sent a first request, and its reply (parks
  // until it comes; once).
  bool sent_first() const noexcept { return first_ != nullptr; }
  v1::Frame first_reply();

  bool has_capability(const std::string& c) const;
  const std::string& address() const noexcept { return address_; }
  std::uint64_t process_id() const noexcept { return process_id_; }

 private:
  // behind: a request written in the same write, after f (first).
  v1::Frame handshake_exchange(const v1::Frame& f, const char* what, const v1::Frame* behind = nullptr);
  void prove_key(const std::string& challenge);
  void read_loop();
  // Answers the server's Control request id in a goroutine of its own.
  void answer_control(std::uint64_t id, const v1::Control& c);
  // STATS's text: a JSON object of runtime counters.
  std::string stats_json() const;
  // GOROUTINE_STATS's answer into out: its text and the migratable
  // goroutines' counters (starts instrumentation if it is off).
  void goroutine_stats(std::size_t limit, v1::ControlReply& out);
  // TRACE's answer into r: records for duration_ms (trace_request.hpp).
  void answer_trace(v1::Frame& r, std::int64_t duration_ms);
  void heartbeat_loop();
  [[noreturn]] void lost(const std::string& why);
  // After detach: parks the calling goroutine for good (detach says why).
  // Returns on a plain thread, or when not detaching.
  void abandon_if_detaching();
  std::shared_ptr<pending> take(std::uint64_t id, bool final);

  std::string address_;
  std::unique_ptr<wire::link> link_;
  std::vector<std::string> capabilities_;
  std::uint64_t process_id_ = 0;
  std::atomic<std::uint64_t> next_id_{1};
  weft::detail::spinlock lock_;
  std::unordered_map<std::uint64_t, std::shared_ptr<pending>> pending_ GUARDED_BY(lock_);
  std::shared_ptr<pending> first_;  // the constructor's first request, if any
  std::atomic<std::int64_t> last_heard_{0};
  std::atomic<bool> detaching_{false};
  std::unique_ptr<trace_stream> trace_;  // the server records a trace
  std::atomic<bool> trace_requested_{false};  // a TRACE is recording (trace_request.hpp, R1)
  const std::int64_t attached_ns_;  // os::nanotime() at the handshake
  // When a tool last asked for goroutine statistics: the heartbeat stops
  // instrumentation nobody has asked about for instrument_idle_ns.
  std::atomic<std::int64_t> last_stats_ask_{0};
};

// GOROUTINE_STATS's JSON: the snapshot's totals and its `limit` busiest
// goroutines. started: instrumentation began with this request.
std::string goroutine_stats_json(const weft::detail::gstats_snapshot& snap, bool started, std::size_t limit);

// The stub of the running weft::run, or null when not attached.
stub* current() noexcept;
void set_current(stub*) noexcept;

// Whether the server answers req as soon as it has it, rather than when
// someone else acts (a receive that waits for a sender, an offer held for
// a select, a spawn, a worker's exit): call() then waits in a
// quick_reply_scope (runtime.hpp). A send that waits counts as quick:
// into a buffered channel with room, the usual case, it is; where it is
// not, the scheduler's budget for quick waits shrinks (quick_spin.hpp).
bool answered_at_once(const v1::Frame& req) noexcept;

// The remote_error kind for an Error reply's code.
remote_errc errc_of(v1::Error::Code c);
// remote_error for an Error reply.
[[noreturn]] void throw_error(const v1::Error& e, const std::string& what);

}  // namespace weft::remote::detail
