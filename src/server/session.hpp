// src/server/session.hpp: one client's conversation with the server.
//
// A session takes the client's frames one at a time (handle), answers the
// handshake, then dispatches requests to the hosts (chan_host, var_host)
// and is itself the `client` their replies are posted to. It knows nothing
// of sockets: its frames go to an outlet (the connection's link in weftd,
// a recorder in tests), so the bit-flip enumeration in tests/server/ runs
// every mutated frame through this exact code.
//
// What a session keeps per client, all bounded:
//   handles   handle -> the channel or variable it names (one handle per
//             object: opening a name again returns the same handle);
//   pending   request id -> the object it waits on, for Cancel and
//             OfferReply; an entry lives from the request until its final
//             reply is posted (post() sees it go) or its offer is answered.
//             An AnchorWatch is pending until its final Error (its
//             AnchorEvents are not final).
//             At most max_pending entries: more is refused (REFUSED).
//   os        the files this client opened on this host (os_host.hpp),
//             made at its first OS request.
// Cleanup (end): every object this client opened forgets it (drop), which
// releases its reservations and drops its waiters (chan_host.hpp, I7); its
// OS calls in flight are waited for and its files closed.
// With a trace logger (wire/trace_log.hpp), a stub's TraceEvents go to it, and
// end() closes its tracks and prints its summary.
// Control (control.hpp): a stub's session registers its process with the
// control host once welcomed and leaves at end(); a tool's Control goes to
// the control host, which may forward it to a stub as a server->stub
// request, whose answer (ControlReply or Error) the stub's session hands
// back to it. Only a TOOL may send Control.
//
// Errors: a malformed request gets an Error with its id and the session
// goes on; a broken protocol (a frame a client never sends, a request
// without an id, an OfferReply with no Offer) gets Error PROTOCOL with id
// 0 and the connection closes. Either is logged once per client (the
// first in full, then a count when it leaves): a client cannot flood the
// log.
//
// Threads: handle() and end() run on the connection's reader goroutine
// only; post() runs on any goroutine (a host delivering another client's
// send), hence the spinlock on `pending`, never held across a call out.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "platform/spinlock.hpp"
#include "server/client.hpp"
#include "server/os_host.hpp"
#include "server/state.hpp"

namespace weft::server {

// Where a session's frames go. send never parks and never throws.
class outlet {
 public:
  virtual void send(const wire::frame& f) noexcept = 0;
  // Bytes sent and not yet written (client::backlog).
  virtual std::size_t backlog() const noexcept { return 0; }
  // Bytes read and written on the connection (client::bytes_exchanged).
  virtual std::uint64_t bytes_exchanged() const noexcept { return 0; }

 protected:
  ~outlet() = default;
};

class session final : public client {
 public:
  session(server_state& st, outlet& out, std::string peer);
  // This connection is one weftd made for the worker with this ticket
  // ("ID.TOKEN") before forking it (fork_server.hpp, K4): a Hello with
  // that ticket is not asked for the cluster key. Before the first frame.
  void trust_worker(std::string ticket) { trusted_ticket_ = std::move(ticket); }
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();  // end() if not yet

  enum class verdict { go_on, close };
  // One frame from the client. close: end the connection once what was
  // posted (an Error, usually) has been written.
  verdict handle(const wire::frame& f);
  // The client's byte stream broke the framing (a length of 0 or above
  // max_frame, bytes that are not a Frame): posts Error PROTOCOL (id 0).
  void bad_stream(std::string_view why);
  // The connection is over: the hosts forget this client. Idempotent.
  // `why` ends the log line ("closed", "lost: ...").
  void end(std::string_view why = "closed");
  // The connection's watcher, every heartbeat: control requests this
  // stub has not answered in time end (control.hpp).
  void tick(std::chrono::steady_clock::time_point now);

  bool welcomed() const noexcept { return welcomed_.load(std::memory_order_acquire); }
  std::uint64_t process_id() const noexcept { return process_id_; }
  // "client 7 (unix)" for log lines.
  const std::string& name() const noexcept { return name_; }

  void post(const wire::frame& f) noexcept override;
  std::size_t backlog() const noexcept override { return out_.backlog(); }
  std::uint64_t bytes_exchanged() const noexcept override { return out_.bytes_exchanged(); }

 private:
  struct object {
    std::shared_ptr<hosted_chan> chan;
    std::shared_ptr<hosted_var> var;
  };
  struct target {
    hosted_chan* chan = nullptr;
    hosted_var* var = nullptr;
    bool watch = false;  // an AnchorWatch: Cancel goes to the worker host
  };

  verdict handshake(const wire::frame& f);
  verdict authenticate(const wire::frame& f);
  void attached();
  verdict dispatch(const wire::frame& f);
  verdict broken(std::string why);
  void refuse(std::uint64_t id, v1::Error::Code code, std::string why);
  void note_bad(std::string_view what);
  bool begin(std::uint64_t id, target t);
  bool forget(std::uint64_t id);
  target pending_target(std::uint64_t id);
  std::uint64_t handle_for(object o);
  hosted_chan* chan_of(std::uint64_t id, std::uint64_t handle);
  hosted_var* var_of(std::uint64_t id, std::uint64_t handle);
  os_host* os(std::uint64_t id);

  void chan_open(std::uint64_t id, const v1::ChanOpen& m);
  void chan_send(std::uint64_t id, const v1::ChanSend& m);
  void chan_recv(std::uint64_t id, const v1::ChanRecv& m);
  verdict offer_reply(std::uint64_t id, const v1::OfferReply& m);
  void cancel(std::uint64_t id);
  void remove(std::uint64_t id, const v1::Remove& m);
  // A DAEMON's binary, piece by piece, into the cache (docs/cluster.md).
  void binary_put(std::uint64_t id, const v1::BinaryPut& m);
  void var_open(std::uint64_t id, const v1::VarOpen& m);
  void var_op(std::uint64_t id, const v1::VarOp& m);
  void control(std::uint64_t id, const v1::Control& m);
  void migrate(std::uint64_t id, const wire::frame& f);
  verdict migrate_one_way(const wire::frame& f);
  verdict answer(const wire::frame& f);

  server_state& st_;
  outlet& out_;
  const std::uint64_t process_id_;
  const std::string name_;
  const std::string peer_;  // "unix", or the client's IP:port
  std::atomic<bool> welcomed_{false};
  bool ended_ = false;
  bool closing_ = false;  // broken(): the connection ends after this frame
  bool traced_ = false;  // a stub attached to the trace logger
  std::atomic<v1::Hello::Role> role_{v1::Hello::ROLE_UNSPECIFIED};  // set once welcomed
  bool migrating_ = false;  // a tool that sent Migrate (end() tells the migrate host)
  bool controlled_ = false;  // a tool that sent Control (end() tells the control host)
  std::uint64_t bad_ = 0;  // bad inputs seen (logged: the first)
  std::string goodbye_;  // the client's reason, if it said Goodbye
  // With a cluster key: the challenge sent in Welcome, until the client's
  // AuthProof answers it; and its Hello, logged once it has.
  std::string challenge_;
  std::string trusted_ticket_;  // trust_worker
  v1::Hello hello_;
  std::unique_ptr<os_host> os_;  // files and environment of this host (capability "os")
  // The binary a DAEMON is sending: one at a time, pieces in order.
  // Dropped with the session, it leaves nothing (binary_cache.hpp, I1).
  std::unique_ptr<binary_cache::upload> upload_;
  std::string upload_sha_;
  std::uint64_t upload_next_ = 0;

  std::unordered_map<std::uint64_t, object> handles_;
  std::unordered_map<const void*, std::uint64_t> handle_of_;
  std::uint64_t next_handle_ = 1;

  detail::spinlock pending_lock_;
  std::unordered_map<std::uint64_t, target> pending_ GUARDED_BY(pending_lock_);
};

}  // namespace weft::server
