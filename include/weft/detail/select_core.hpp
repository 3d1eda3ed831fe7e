// weft/detail/select_core.hpp: the type-erased select behind weft::select.
// Internal; the algorithm is described in src/chan/select.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stop_token>

namespace weft::detail {

struct chan_core;

enum class select_dir : std::uint8_t {
  none,  // never ready (on_default's slot; the caller passes has_default)
  recv,
  send,
  stop,  // ready once stop is requested on *token
};

// One case. A null chan makes a recv/send case that is never ready (a nil
// channel). The core moves from a send case's elem only if it is chosen,
// and constructs into a recv case's elem only if it is chosen and ok.
struct select_arm {
  select_dir dir = select_dir::none;
  chan_core* chan = nullptr;
  void* elem = nullptr;
  const std::stop_token* token = nullptr;
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
