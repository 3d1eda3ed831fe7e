// src/server/control.hpp: the "control" capability (docs/protocol.md,
// "Control"): which programs are attached, and the requests a tool sends
// them through the server.
//
// A stub's session registers its process here once welcomed and leaves at
// its end. A tool's Control either is answered here (LIST) or names one
// attached process (by pid, or by process_id) and is forwarded to that
// process's stub as a server->stub request, under an id this host chooses
// for that stub's connection. The stub's ControlReply (or Error) comes back
// through its session to answer(), which relays it to the tool under the
// tool's own request id.
//
// Invariants:
//   C1 Every forwarded request ends in exactly one reply to its tool: the
//      stub's answer, Error TIMEOUT once its deadline has passed (expire,
//      driven by the stub connection's watcher), or Error NOT_FOUND when
//      the stub detaches first; unless the tool left first (forget_tool),
//      and then nothing is posted to it. weftd's own requests (ask) have
//      no tool: the stub's answer goes to their inbox, and nothing else.
//   C2 A server->stub id is never reused on one connection: an answer for
//      an id below next_id that is no longer outstanding is a late one
//      (after a timeout) and is dropped, not a protocol error.
//   C3 Bounded: at most max_outstanding forwarded requests per target; more
//      are refused (REFUSED) rather than queued.
//   C4 A TRACE records for its duration_ms (1 ms to max_duration, else
//      REFUSED here) before the stub answers: its deadline is the timeout
//      plus duration_ms plus trace_build, the time a target may take to
//      turn a full recording (up to 12 MiB of JSON) into its answer. The recording is the stub's (remote/
//      trace_request.hpp); this host keeps nothing for it but the call.
//      A CPU_PROFILE likewise, except that its duration is checked by the
//      stub (which refuses at once): the deadline adds it clamped to
//      max_duration.
// Threads: one weft::mutex over the table; replies are posted under it
// (post only queues, client.hpp). Sessions take it from their reader
// goroutine, watchers from theirs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <weft/chan.hpp>
#include <weft/mutex.hpp>

#include "platform/lock_scope.hpp"
#include "platform/thread_annotations.hpp"
#include "server/client.hpp"

namespace weft::server {

class control_host {
 public:
  struct limits {
    std::size_t max_outstanding = 64;  // forwarded requests per target (C3)
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);  // a target's time to answer
    std::chrono::milliseconds max_duration = std::chrono::minutes(10);  // a TRACE's duration_ms (C4)
    // A TRACE's extra time to answer (C4): a capped recording takes well
    // under a second to encode in a release build, but seconds in a busy
    // program on a loaded machine or in a sanitizer build, and a stuck
    // target is still found within timeout + trace_build.
    std::chrono::nanoseconds trace_build = std::chrono::seconds(20);
  };
  explicit control_host(limits l) : limits_(l) {}
  control_host(const control_host&) = delete;
  control_host& operator=(const control_host&) = delete;

  // A stub's session, once welcomed: process_id is its Welcome's;
  // worker_id is the circuit worker it is (its claimed ticket's id), or ""
  // for a program attached on its own. LIST names it, so that the weft
  // command can turn an anchor into the process to ask.
  void attach(std::uint64_t process_id, client& stub, const v1::ProcessInfo& info, std::string worker_id = "");
  // The stub's connection is over: its outstanding requests end in Error
  // NOT_FOUND ("detached before answering"). Idempotent.
  void detach(std::uint64_t process_id);
  // A tool's connection is over: nothing more is posted to it.
  void forget_tool(std::uint64_t tool_process_id);

  // A tool's Control (id: the tool's request id). The reply goes to tool:
  // now (LIST, and refusals) or when the target answers (C1).
  void request(client& tool, std::uint64_t tool_process_id, std::uint64_t id, const v1::Control& m);
  // A frame from stub process_id that answers a server->stub request (a
  // ControlReply, or an Error with a nonzero id). False if no such request
  // was ever sent on that connection: the stub broke the protocol.
  bool answer(std::uint64_t process_id, const wire::frame& f);
  // Ends stub process_id's requests whose deadline is past `now` (Error
  // TIMEOUT to their tools).
  void expire(std::uint64_t process_id, std::chrono::steady_clock::time_point now);
  // weftd's own request (migrate --to auto's STATS): action to stub
  // process_id; its answer (ControlReply or Error) goes to inbox, never
  // parking (try_send). False if no such process or C3 refuses it. No
  // answer ever comes on a timeout or detach: the caller bounds its wait.
  bool ask(std::uint64_t process_id, v1::Control::Action action, weft::chan<wire::frame> inbox);

 private:
  struct call {
    client* tool;  // null once the tool has left
    std::uint64_t tool_process_id;
    std::uint64_t tool_id;
    v1::Control::Action action;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::nanoseconds allowed;  // deadline - the time it was sent
    weft::chan<wire::frame> inbox;  // ask's (tool null): where the answer goes
  };
  struct process {
    client* stub;
    v1::ProcessInfo info;
    std::int64_t attached_unix_ms;
    std::string worker_id;  // "" unless a circuit worker
    std::uint64_t next_id = 1;  // the next server->stub request id (C2)
    std::map<std::uint64_t, call> calls;  // by server->stub id
  };

  // The process a request names, or null after posting the refusal.
  process* target(client& tool, std::uint64_t id, const v1::Control& m) REQUIRES(mu_);
  std::string who(const process& p) const;

  const limits limits_;
  weft::mutex mu_;
  std::map<std::uint64_t, process> procs_ GUARDED_BY(mu_);  // by process_id
};

// The protocol's name for an action ("DUMP_GOROUTINES").
const char* action_name(v1::Control::Action a) noexcept;

}  // namespace weft::server
