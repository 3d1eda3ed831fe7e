// tools/conformance/conformance.hpp: weft-conformance, the suite any runtime
// server can be run against (docs/protocol.md).
//
//   weft-conformance [--core] [--only TEXT] [--timeout-ms N] [--key FILE] ADDR
//
// It speaks the protocol itself, frame by frame, as a TOOL client: it uses
// only the public headers (include/weft/), the framing of src/wire/ and the
// generated protocol code, never the stub or a server. So passing it says
// the server does what the protocol document says, and that the document
// says enough to build one.
//
// A check is a named function over fresh connections. It fails by throwing
// failure with the reason; the runner prints one line per check (PASS name,
// FAIL name: why, or SKIP name: why for a check that does not apply), removes the objects the check created, and exits
// 0 only if every check passed. The core part (handshake, channels, variables) is what every server must do; the full
// part adds the select commit protocol (offers), FIFO with offers, and bad input.
//
// Timing: "the server answers" means within --timeout-ms (2 s); "the server
// says nothing" means nothing within a quiet period (150 ms), which a slow
// server cannot fail by being slow, only by answering wrongly.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <weft/chan.hpp>
#include <weft/codec.hpp>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/endpoint.hpp"
#include "wire/link.hpp"

namespace weft::conformance {

namespace v1 = weft::runtime::v1;

// A check's failure: what was expected and what came instead.
class failure : public std::runtime_error {
 public:
  explicit failure(const std::string& why) : std::runtime_error(why) {}
};
// A check that does not apply to this server (the key checks against a
// server without a key): printed as SKIP with the reason, counted apart.
class skipped : public std::runtime_error {
 public:
  explicit skipped(const std::string& why) : std::runtime_error(why) {}
};

// Throws failure(why) unless ok.
void require(bool ok, const std::string& why);

struct config {
  wire::endpoint address;
  // The cluster key (--key FILE, else WEFT_KEY_FILE): answers a server's
  // challenge. Empty: a server that sends one fails the suite.
  std::string key;
  std::chrono::milliseconds timeout{2000};  // for an answer that must come
  std::chrono::milliseconds quiet{150};  // for "no answer" and for a server to notice a close
};

// "ChanDone WOULD_BLOCK", "Error CLOSED (close of closed channel)", "Offer"...
std::string describe(const v1::Frame& f);

// One connection to the server under test. Its reader goroutine answers
// the server's Pings and queues every other frame; expect() takes the
// frames of one request id in order, keeping the others for later.
class client {
 public:
  // Connects without saying anything (for bad-input checks).
  explicit client(const config& cfg);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Sends Hello (version major.minor, role TOOL) and waits for the
  // Welcome; fails on anything else. A Welcome with a challenge is
  // answered with the configured key, and then AuthResult must come.
  const v1::Welcome& handshake(unsigned major = 1, unsigned minor = 0, std::vector<std::string> required = {});
  // Sends Hello and returns the server's first answer (Welcome or Error).
  v1::Frame hello(const v1::Hello& h);

  // Sends f under a fresh request id; returns the id.
  std::uint64_t request(v1::Frame f);
  // Sends f as it is (Ping, Cancel, OfferReply, Goodbye).
  void send(const v1::Frame& f);
  // Writes bytes to the socket as they are.
  void write_raw(std::string_view bytes);
  // Closes the connection (as a crashing client would).
  void close() noexcept;

  // The next frame for id (0: the next one-way frame), waiting up to the
  // timeout. Fails if none comes or the server closes the connection.
  v1::Frame expect(std::uint64_t id, const std::string& what);
  // The next frame for id if one comes within the quiet period.
  std::optional<v1::Frame> poll(std::uint64_t id);
  // Fails if a frame for id comes within the quiet period.
  void expect_silence(std::uint64_t id, const std::string& what);
  // Waits for the server to close the connection; fails if it does not
  // within the timeout, or sends a frame other than Goodbye meanwhile.
  void expect_closed(const std::string& what);
  // The Welcome of handshake().
  const v1::Welcome& welcome() const noexcept { return welcome_; }

 private:
  using frame_ptr = std::shared_ptr<v1::Frame>;
  void read_loop();
  // The reader's next frame; null if the deadline passes first or the
  // connection has ended (then inbox_closed_).
  frame_ptr next_frame(std::chrono::steady_clock::time_point deadline);
  // Takes a frame for id from the stash, or waits for one until deadline.
  std::optional<v1::Frame> take(std::uint64_t id, std::chrono::steady_clock::time_point deadline);

  config cfg_;
  std::unique_ptr<wire::link> link_;
  weft::chan<frame_ptr> inbox_{4096};  // closed by the reader when the connection ends
  weft::chan<bool> writer_done_{1};
  bool inbox_closed_ = false;
  std::string end_;  // why the connection ended (written by the reader before it closes inbox_)
  std::deque<frame_ptr> stash_;
  std::uint64_t next_id_ = 1;
  v1::Welcome welcome_;
};

// The checks' vocabulary: one request each, and what its reply must be.
namespace ops {

// A Hello from a TOOL client speaking protocol major.minor.
v1::Hello tool_hello(unsigned major = 1, unsigned minor = 0);

std::string i64(std::int64_t v);
std::string str(const std::string& v);
std::int64_t as_i64(const std::string& bytes, const std::string& what);

// ChanOpen; the reply must be ChanOpened.
v1::ChanOpened open_chan(client& c, const std::string& name, const std::string& sig,
                         std::optional<std::uint64_t> capacity);
// ChanOpen; returns the reply as it is.
v1::Frame try_open_chan(client& c, const std::string& name, const std::string& sig,
                        std::optional<std::uint64_t> capacity);
std::uint64_t start_send(client& c, std::uint64_t handle, const std::string& value, v1::Mode mode);
std::uint64_t start_recv(client& c, std::uint64_t handle, v1::Mode mode);
// The reply to id must be ChanDone with status; returns its value.
std::string expect_done(client& c, std::uint64_t id, v1::ChanDone::Status status, const std::string& what);
// The reply must be ChanDone CLOSED or Error CLOSED (a send on a closed channel).
void expect_send_closed(client& c, std::uint64_t id, const std::string& what);
// The reply must be an Offer; returns its value.
std::string expect_offer(client& c, std::uint64_t id, const std::string& what);
void answer_offer(client& c, std::uint64_t id, bool accept);
void cancel(client& c, std::uint64_t id);
// The reply must be Error with code; returns its message.
std::string expect_error(client& c, std::uint64_t id, v1::Error::Code code, const std::string& what);
// One request and its reply, which must be Ok / ChanStats / VarValue.
void expect_ok(client& c, v1::Frame req, const std::string& what);
v1::ChanStats stat(client& c, std::uint64_t handle);
void close_chan(client& c, std::uint64_t handle);
// Shorthands: a plain send and receive that must complete.
void send_value(client& c, std::uint64_t handle, const std::string& value);
std::string recv_value(client& c, std::uint64_t handle);

v1::VarOpened open_var(client& c, const std::string& name, const std::string& sig, const std::string& initial);
std::uint64_t start_var_op(client& c, std::uint64_t handle, v1::VarOp::Op op, const std::string& value,
                           const std::string& expected);
v1::VarValue var_op(client& c, std::uint64_t handle, v1::VarOp::Op op, const std::string& value = {},
                    const std::string& expected = {});
v1::VarValue expect_var_value(client& c, std::uint64_t id, const std::string& what);

}  // namespace ops

// What a check gets: the configuration, connections, and names for the
// objects it creates (unique to this run; removed after the check).
class suite {
 public:
  explicit suite(config cfg);
  const config& cfg() const noexcept { return cfg_; }
  // A connection that has completed the handshake.
  std::unique_ptr<client> connect();
  // A name no other run uses ("weft-conformance.<pid>.<n>.stem").
  std::string name(const std::string& stem);
  // Removes the objects named since the last call (best effort).
  void clean_up() noexcept;
  // The end of the run: closes the bystander, removes what is left.
  void finish() noexcept;
  // The connection kept open across the bad-input checks: it must keep
  // working whatever the others do.
  client& bystander();
  // Fails unless the bystander still answers a Ping and a channel operation.
  void require_bystander_ok();

 private:
  std::string unique(const std::string& stem);

  config cfg_;
  std::vector<std::string> names_;
  std::uint64_t next_ = 0;
  std::unique_ptr<client> bystander_;
  std::string bystander_name_;
  std::uint64_t bystander_chan_ = 0;
};

struct check {
  std::string name;
  bool core;  // part of --core
  std::function<void(suite&)> run;
};

std::vector<check> core_checks();
std::vector<check> offer_checks();
std::vector<check> bad_input_checks();
std::vector<check> key_checks();
std::vector<check> os_checks();

}  // namespace weft::conformance
