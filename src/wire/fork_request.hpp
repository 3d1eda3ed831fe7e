// src/wire/fork_request.hpp: the messages between weftd and a fork server
// (server/fork_server.hpp, circuit/fork_server_entry.cpp).
//
// A fork server is a process of a caller's binary that stopped before its
// own constructors and main, already loaded and relocated; weftd asks it
// for each new worker instead of starting the binary again. The two talk
// over a private SOCK_SEQPACKET socketpair, one message per request or
// answer:
//   server -> weftd, once: "ready" or "refused WHY" (it cannot fork safely);
//     "ready spare Q" when weftd asked for spares (WEFT_FORK_SPARE=1 in
//     the server's environment) and Q, a child forked ahead, waits for
//     the first request (circuit/fork_server_entry.cpp, F6).
//   weftd -> server: a fork_request (below), with the worker's log file
//     as the first descriptor (SCM_RIGHTS) and, when weftd serves it, one
//     end of a socketpair as the second: the worker's connection to weftd
//     (server/fork_server.hpp, K4).
//   server -> weftd: "pid N" (the worker, weftd's own child), "pid N
//     conn" when the worker took the connection weftd sent, or "error
//     ERRNO WHY" (nothing was started). A fork server of a program built
//     before connections were sent answers "pid N" having kept it: weftd
//     then sends it no more (server/fork_server.hpp, K4). A server with
//     spares adds " spare Q" to a "pid" answer: the spare that waits for
//     the next request now (Q = 0: none); a spare weftd heard of before
//     that is neither N nor Q died unused, and weftd reaps it.
// The fork server reads its requests before any of the binary's own code
// ran (no protobuf, no iostreams): hence plain NUL-separated strings.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::wire {

// What a worker forked from a fork server gets that its server has not.
struct fork_request {
  std::string cwd;  // its working directory (absolute)
  std::vector<std::string> env;  // NAME=VALUE: its whole environment
};

// The largest request either side handles: the socket buffers are sized for it.
constexpr std::size_t max_fork_request = 1u << 20;

// A fork_request as views into the bytes it was decoded from (which must
// outlive it). What a fork server decodes: nothing allocated, so that after
// a fork neither it nor the child frees anything, each free a write to a
// page the two share (a copy-on-write fault).
struct fork_request_view {
  std::string_view cwd;  // cwd.data() is NUL-terminated: a C string
  std::string_view env;  // the entries back to back, each followed by a NUL
  // Calls f(const char* entry) for each environment entry, in order.
  template <class F>
  void for_each_env(F f) const {
    for (std::size_t at = 0; at < env.size();) {
      const char* e = env.data() + at;
      f(e);
      at += std::string_view(e).size() + 1;
    }
  }
};

// cwd, then each env entry, each followed by a NUL. Empty if a string holds
// a NUL, an entry has no '=', or the whole is over max_fork_request.
std::string encode_fork_request(const fork_request& r);
// The inverse; nullopt (with why) on anything encode_fork_request does not
// make. why is written only then.
std::optional<fork_request_view> decode_fork_request_view(std::string_view bytes, std::string& why);
// The same, copied out of bytes.
std::optional<fork_request> decode_fork_request(std::string_view bytes, std::string& why);

// "pid N" / "error ERRNO WHY": one fork's answer.
struct fork_answer {
  long pid = 0;  // > 0 when a worker was started
  int error = 0;  // errno when not
  std::string why;
  bool took_connection = false;  // the worker has the request's connection to weftd
  long spare = -1;  // the spare waiting now (" spare Q"); 0: none; -1: not said (a server without spares)
};
std::string encode_fork_answer(const fork_answer& a);
// The same text in room, cut at its size (a why is cut first): nothing
// allocated, for a fork server that answers just after a fork.
std::string_view encode_fork_answer(const fork_answer& a, std::span<char> room);
std::optional<fork_answer> decode_fork_answer(std::string_view bytes);

// "ready" (spare -1) or "ready spare Q": a fork server's first message
// when it can fork; nullopt for anything else (a refusal).
std::optional<long> decode_fork_ready(std::string_view bytes);
std::string encode_fork_ready(long spare);

}  // namespace weft::wire
