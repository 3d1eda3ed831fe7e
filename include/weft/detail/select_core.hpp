// weft/detail/select_core.hpp: the type-erased select behind weft::select.
// Internal; the algorithm is described in src/chan/select.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stop_token>

namespace weft::detail {

struct chan_core;
struct select_state;
struct select_arm;

enum class select_dir : std::uint8_t {
  none,  // never ready (on_default's slot; the caller passes has_default)
  recv,
  send,
  stop,  // ready once stop is requested on *token
  external,  // completed by another party: *ext (a remote channel)
};

// A case that another party completes: a remote channel's send or receive,
// whose readiness the server announces (docs/protocol.md, "The select
// commit protocol"). select_core drives it as described in
// src/chan/select.cpp, "External cases".
class external_case {
 public:
  virtual ~external_case() = default;
  // For a select with a default: asks whether the operation can be done
  // now, and if so holds it (an offer). May park; called with no lock held.
  virtual bool poll_now() = 0;
  // Commits / releases what poll_now holds. Never park.
  virtual void accept_held() = 0;
  virtual void release_held() noexcept = 0;
  // Starts waiting for the operation; when it can be done, the other party
  // calls select_external_ready(st, index). Called with channel locks
  // held: must not park.
  virtual void arm(select_state* st, int index) = 0;
  // The select is over (this case won or not): after disarm, the case
  // never calls select_external_ready again. Called with no lock held.
  virtual void disarm() noexcept = 0;
  // This case won: finishes it in the selecting goroutine (a receive
  // decodes its value into the arm's elem and sets a.ok). May throw.
  virtual void complete(select_arm& a) = 0;
};

// The external case `index` of the select st can be done: true if it won
// the select (then it must commit), false if another case won first (then
// it must release). REQUIRES: between arm and disarm.
bool select_external_ready(select_state* st, int index);

// One case. A null chan makes a recv/send case that is never ready (a nil
// channel). The core moves from a send case's elem only if it is chosen,
// and constructs into a recv case's elem only if it is chosen and ok.
struct select_arm {
  select_dir dir = select_dir::none;
  chan_core* chan = nullptr;
  void* elem = nullptr;
  const std::stop_token* token = nullptr;
  external_case* ext = nullptr;  // dir external
  bool ok = false;  // out, recv: a value came (false: closed and drained)
};

// Waits until one arm is ready, performs it and returns its index; with
// has_default, returns -1 at once instead of waiting. Ready arms are chosen
// uniformly at random. Throws closed_channel_error if the chosen arm is a
// send on a closed channel. With no arm that can ever be ready and no
// default, blocks forever (Go's `select {}`).
int select_core(select_arm* arms, int n, bool has_default);

// chan<T>::recv(token) and send(v, token): false if stop came first.
bool chan_recv_or_stop(chan_core* c, void* out, const std::stop_token& token, bool* ok);
bool chan_send_or_stop(chan_core* c, void* elem, const std::stop_token& token);

}  // namespace weft::detail
