// tools/weft/connect.hpp: how the weft command talks to a weftd, for every
// subcommand that does (ps, stk, peek, kill; later ls, top, ...).
//
// Which weftd: --runtime ADDR, else WEFT_RUNTIME, else the default socket
// (DESIGN.md, "Which server"). connect() dials it and shakes hands as a
// TOOL (docs/protocol.md, "Handshake"), requiring the capabilities the
// subcommand needs; call() sends one request and waits for its reply,
// answering the server's Pings meanwhile. A request answered by a stream
// (AnchorWatch) is sent with send() and its replies read with next(),
// which interrupt() ends from another goroutine. A subcommand runs inside
// weft::run (the connection parks a goroutine, not the thread).
//
// Every failure throws tool_error with a message for the user that names
// the address and says what to do ("no weftd at unix:/...: connection
// refused; start one with weftd or set WEFT_RUNTIME").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/net.hpp>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/frame.hpp"
#include "wire/stream.hpp"

namespace weft::tool {

namespace v1 = weft::runtime::v1;

struct tool_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The weftd address to use: flag if non-empty, else WEFT_RUNTIME, else the
// default socket. Call before weft::run, which would attach the weft command
// itself to WEFT_RUNTIME: this clears it from the environment. Throws
// usage_error for an address that is not unix:PATH or tcp:HOST:PORT.
struct usage_error : tool_error {
  using tool_error::tool_error;
};
std::string runtime_address(const std::string& flag);
// Whether address is the default socket and nothing answers there: no
// weftd runs on this host, so no worker does either (weft ls prints
// nothing rather than fail).
bool default_runtime_absent(const std::string& address);

class runtime_client {
 public:
  // Dials address and shakes hands requiring `capabilities`. REQUIRES:
  // inside weft::run.
  static runtime_client connect(const std::string& address, const std::vector<std::string>& capabilities);
  runtime_client(runtime_client&&) noexcept = default;
  runtime_client& operator=(runtime_client&&) noexcept = default;
  // Says Goodbye (best effort), so weftd logs a tool that is done rather
  // than a connection that dropped.
  ~runtime_client();

  // Sends req under a fresh id; its reply (an Error included), or throws
  // tool_error when the connection fails or nothing comes within timeout.
  wire::frame call(wire::frame req, std::chrono::nanoseconds timeout = std::chrono::seconds(10));
  // Sends req under a fresh id, which it returns, without waiting: its
  // replies come from next().
  std::uint64_t send(wire::frame req);
  // The next reply to any request of this client (a frame with an id),
  // answering Pings meanwhile; nullopt once interrupt() was called. Throws
  // tool_error when the connection fails or nothing at all comes for
  // `silence` (weftd Pings a quiet client every 250 ms: a silent one is
  // gone or stuck).
  std::optional<wire::frame> next(std::chrono::nanoseconds silence = std::chrono::seconds(5));
  // Makes the next() in progress, or the next one, return nullopt. Any
  // goroutine (a signal's).
  void interrupt() noexcept;

  const std::string& address() const noexcept { return address_; }

 private:
  runtime_client(std::string address, wire::stream c);
  void write(const wire::frame& f);
  // The next frame, by deadline (throws tool_error otherwise).
  wire::frame read(std::chrono::steady_clock::time_point deadline);
  // A frame that is no reply (id 0): answers a Ping; throws for an Error.
  void aside(const wire::frame& f);

  std::string address_;
  wire::stream conn_;
  std::unique_ptr<wire::frame_decoder> decoder_;
  std::uint64_t next_id_ = 1;
  // Set by interrupt(); behind a pointer so that the client stays movable.
  std::unique_ptr<std::atomic<bool>> interrupted_ = std::make_unique<std::atomic<bool>>(false);
};

// Finds the weftd (runtime_address(runtime_flag)), then runs f(address)
// inside weft::run (one proc). A tool_error is printed as "weft CMD:
// MESSAGE" and gives status 1 (2 for a usage_error). Returns f's status
// otherwise.
int run_tool(const char* cmd, const std::string& runtime_flag, const std::function<int(const std::string&)>& f);

}  // namespace weft::tool
