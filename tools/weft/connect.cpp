// tools/weft/connect.cpp: the weft command's connection to its weftd (see
// connect.hpp).
#include "connect.hpp"

#include <cstdio>
#include <cstdlib>
#include <span>
#include <system_error>
#include <utility>

#include <weft/errors.hpp>
#include <weft/run.hpp>

#include "wire/cluster_key.hpp"
#include "wire/endpoint.hpp"
#include "wire/version.hpp"

namespace weft::tool {

namespace {

constexpr auto handshake_timeout = std::chrono::seconds(5);

// read() after interrupt(): next() returns nullopt.
struct interrupted {};

}  // namespace

std::string runtime_address(const std::string& flag) {
  std::string a = flag;
  const char* env = std::getenv("WEFT_RUNTIME");
  if (a.empty() && env) a = env;
  if (a.empty()) a = wire::default_endpoint().text();
  ::unsetenv("WEFT_RUNTIME");
  try {
    wire::parse_endpoint(a);
  } catch (const std::invalid_argument& ex) {
    std::string why = ex.what();
    if (why.rfind("weft: ", 0) == 0) why = why.substr(6);
    throw usage_error(why + (flag.empty() ? " (from WEFT_RUNTIME)" : " (from --runtime)"));
  }
  return a;
}

bool default_runtime_absent(const std::string& address) {
  const wire::endpoint e = wire::default_endpoint();
  if (address != e.text()) return false;
  try {
    wire::dial(e, handshake_timeout).close();
    return false;
  } catch (const std::system_error&) {
    return true;
  }
}

runtime_client::runtime_client(std::string address, wire::stream c)
    : address_(std::move(address)), conn_(std::move(c)), decoder_(std::make_unique<wire::frame_decoder>()) {}

runtime_client runtime_client::connect(const std::string& address, const std::vector<std::string>& capabilities) {
  const wire::endpoint e = wire::parse_endpoint(address);  // runtime_address checked it
  std::string key;  // over TLS the key is needed before the first byte (wire/tls.hpp)
  if (wire::wants_tls(e)) {
    try {
      key = wire::cluster_key_from_env();
    } catch (const std::exception& bad) {
      throw tool_error("weftd at " + address + " is reached over TLS, which needs the cluster key, and " + bad.what());
    }
  }
  wire::stream c;
  try {
    c = wire::connect(e, handshake_timeout, key);
  } catch (const std::system_error& ex) {
    throw tool_error("no weftd at " + address + ": " + ex.code().message() +
                     "; start one with weftd or set WEFT_RUNTIME (or --runtime ADDR)");
  } catch (const remote_error& ex) {
    throw tool_error("weftd at " + address + ": " + ex.what());
  }
  runtime_client rc(address, std::move(c));
  wire::frame hello;
  v1::Hello* h = hello.mutable_hello();
  h->set_magic(wire::magic);
  h->mutable_version()->set_major(wire::version_major);
  h->mutable_version()->set_minor(wire::version_minor);
  h->set_role(v1::Hello::TOOL);
  for (const std::string& cap : capabilities) h->add_required_capabilities(cap);
  rc.write(hello);
  wire::frame w = rc.read(std::chrono::steady_clock::now() + handshake_timeout);
  if (w.has_error()) throw tool_error("weftd at " + address + " refused the handshake: " + w.error().message());
  if (!w.has_welcome()) throw tool_error(address + " answered the handshake with something else: is it a weftd?");
  if (!w.welcome().challenge().empty()) {
    try {
      if (key.empty()) key = wire::cluster_key_from_env();
    } catch (const std::exception& bad) {
      throw tool_error("weftd at " + address + " requires the cluster key, and " + bad.what());
    }
    if (key.empty())
      throw tool_error("weftd at " + address +
                       " requires the cluster key: set WEFT_KEY_FILE to the key file it was started with (weftd "
                       "--key FILE)");
    wire::frame proof;
    proof.mutable_auth_proof()->set_mac(wire::auth_proof(key, w.welcome().challenge()));
    rc.write(proof);
    wire::frame r = rc.read(std::chrono::steady_clock::now() + handshake_timeout);
    if (r.has_error()) throw tool_error("weftd at " + address + " refused the handshake: " + r.error().message());
    if (!r.has_auth_result()) throw tool_error(address + " answered the key's proof with something else");
  }
  return rc;
}

runtime_client::~runtime_client() {
  if (!decoder_) return;  // moved from
  try {
    wire::frame bye;
    bye.mutable_goodbye()->set_reason("done");
    write(bye);
  } catch (const tool_error&) {}  // the server is gone: nobody to tell
}

void runtime_client::write(const wire::frame& f) {
  std::string out;
  wire::append_frame(f, out);
  try {
    conn_.write(out);
  } catch (const std::system_error& ex) {
    throw tool_error("weftd at " + address_ + ": " + ex.code().message());
  }
}

wire::frame runtime_client::read(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    std::string_view payload;
    switch (decoder_->next(&payload)) {
      case wire::frame_decoder::status::ready: {
        wire::frame f;
        if (!wire::parse_frame(payload, f))
          throw tool_error("weftd at " + address_ + " sent bytes that are not a Frame");
        return f;
      }
      case wire::frame_decoder::status::too_large:
        throw tool_error("weftd at " + address_ + " sent a frame of " + std::to_string(decoder_->announced()) +
                         " bytes, above the limit");
      case wire::frame_decoder::status::need_more: break;
    }
    conn_.set_read_deadline(deadline);
    // After setting the deadline: an interrupt() from now on moves it to
    // the past, which wakes this read (net.hpp: a deadline applies to the
    // reads in progress too).
    if (interrupted_->load()) throw interrupted{};
    std::size_t n = 0;
    try {
      char* at = decoder_->prepare(64 << 10);
      n = conn_.read(std::span<std::byte>(reinterpret_cast<std::byte*>(at), 64 << 10));
    } catch (const std::system_error& ex) {
      if (interrupted_->load()) throw interrupted{};
      if (ex.code() == std::errc::timed_out) throw tool_error("weftd at " + address_ + " did not answer in time");
      throw tool_error("weftd at " + address_ + ": " + ex.code().message());
    }
    if (n == 0) throw tool_error("weftd at " + address_ + " closed the connection");
    decoder_->commit(n);
  }
}

void runtime_client::aside(const wire::frame& f) {
  if (f.has_ping()) {
    wire::frame pong;
    pong.mutable_pong()->set_nonce(f.ping().nonce());
    write(pong);
  } else if (f.id() == 0 && f.has_error()) {
    throw tool_error("weftd at " + address_ + ": " + f.error().message());
  }
}

wire::frame runtime_client::call(wire::frame req, std::chrono::nanoseconds timeout) {
  const std::uint64_t id = send(std::move(req));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    wire::frame f = read(deadline);
    if (f.id() == id) return f;
    aside(f);
  }
}

std::uint64_t runtime_client::send(wire::frame req) {
  const std::uint64_t id = next_id_++;
  req.set_id(id);
  write(req);
  return id;
}

std::optional<wire::frame> runtime_client::next(std::chrono::nanoseconds silence) {
  try {
    for (;;) {
      wire::frame f = read(std::chrono::steady_clock::now() + silence);
      if (f.id() != 0) return f;
      aside(f);
    }
  } catch (const interrupted&) {
    return std::nullopt;
  }
}

void runtime_client::interrupt() noexcept {
  interrupted_->store(true);
  try {
    conn_.set_read_deadline(std::chrono::steady_clock::now());
  } catch (...) {}  // a closed connection: its read has failed already
}

int run_tool(const char* cmd, const std::string& runtime_flag, const std::function<int(const std::string&)>& f) {
  std::string address;
  try {
    address = runtime_address(runtime_flag);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "weft %s: %s\n", cmd, e.what());
    return 2;
  }
  weft::options o;
  o.procs = 1;
  return weft::run(
      [&]() -> int {
        try {
          return f(address);
        } catch (const tool_error& e) {
          std::fprintf(stderr, "weft %s: %s\n", cmd, e.what());
          return 1;
        }
      },
      o);
}

}  // namespace weft::tool
