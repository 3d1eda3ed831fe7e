// src/circuit/xref.cpp: the handles behind weft::xref, and what
// weft/xref.hpp's templates call (the protocol: exports.hpp; the
// connections: peer_link.hpp, peers.hpp).
//
// A handle is one registered reference: made by ref/perm_ref (the owner's
// own), by decoding an xref (XAcquire, or the table directly when this
// process is the owner), or by dial (which decodes the listener's reply).
// Its end releases it (XRelease, or the table directly). A remote handle
// keeps its link, so calls go straight to it; once that link is dead, its
// calls fail at once with remote_error{lost}. A handle decoded for an
// owner that cannot be dialed keeps that failure and its calls fail with it.
#include <atomic>
#include <optional>
#include <tuple>

#include <weft/go.hpp>
#include <weft/xref.hpp>

#include "circuit/exports.hpp"
#include "circuit/identity.hpp"
#include "circuit/peer_listener.hpp"
#include "circuit/peers.hpp"
#include "circuit/xref_serve.hpp"
#include "wire/worker_id.hpp"
#include "wire/utf8.hpp"

namespace weft::detail {

namespace cd = weft::circuit::detail;
namespace v1 = weft::runtime::v1;

class xref_handle {
 public:
  std::string owner;
  std::uint64_t object = 0;
  std::string type;
  bool local = false;
  std::shared_ptr<cd::peer_link> link;  // remote
  std::optional<remote_error> broken;  // remote, and its owner could not be dialed

  ~xref_handle() {
    if (local) {
      cd::exported().release(object, cd::exports::self, 1);
    } else if (link) {
      v1::Frame f;
      f.mutable_x_release()->set_object(object);
      f.mutable_x_release()->set_count(1);
      link->send(f);
    }
  }
};

namespace {

std::atomic<std::uint64_t> next_token{1};

std::shared_ptr<xref_handle> local_handle(std::uint64_t id, const std::string& type) {
  auto h = std::make_shared<xref_handle>();
  h->owner = cd::self_address();
  h->object = id;
  h->type = type;
  h->local = true;
  return h;
}

}  // namespace

std::shared_ptr<xref_handle> xref_export(std::shared_ptr<void> obj, const void* raw, const std::string& type,
                                         bool perm) {
  if (!obj) throw misuse_error("weft::ref: a null pointer cannot be exported");
  cd::start_peer_listener();
  std::uint64_t id = cd::exported().add(std::move(obj), raw, type, perm);
  return local_handle(id, type);
}

const std::string& xref_owner(const xref_handle& h) noexcept { return h.owner; }
std::uint64_t xref_object(const xref_handle& h) noexcept { return h.object; }

void xref_call(const xref_handle& h, const std::string& type, const char* method, std::string signature,
               std::string args, std::shared_ptr<future_state> out) {
  if (method == nullptr)
    throw misuse_error("weft::xref<" + type + ">::call: the method is not registered: list it in WEFT_CROSS(" + type +
                       ", ...)");
  v1::Frame f;
  v1::XCall* c = f.mutable_x_call();
  c->set_object(h.object);
  c->set_type(type);
  c->set_method(method);
  c->set_signature(std::move(signature));
  c->set_args(std::move(args));
  if (h.local) {
    weft::go(weft::go_options{.name = "weft: xref call"}, [f = std::move(f), out = std::move(out)]() mutable {
      v1::Frame r = cd::serve_call(f.x_call());
      cd::settle_from(*out, r, cd::self_address());
    });
    return;
  }
  if (h.broken) {
    out->settle_failed(h.broken->kind(), h.broken->what());
    return;
  }
  h.link->request(std::move(f), std::move(out));
}

xref_wire xref_encode(const xref_handle& h) {
  xref_wire w{h.owner, h.object, h.type,
              cd::self_id() + "." + std::to_string(next_token.fetch_add(1, std::memory_order_relaxed))};
  if (h.local) {
    cd::exported().pin(h.object, w.token);
  } else if (h.link) {
    v1::Frame f;
    f.mutable_x_pin()->set_object(h.object);
    f.mutable_x_pin()->set_token(w.token);
    h.link->send(f);
  }
  return w;
}

std::shared_ptr<xref_handle> xref_decode(xref_wire w) {
  cd::ensure_xref_run();
  if (w.owner == cd::self_address()) {
    auto h = local_handle(w.object, w.type);
    // An object gone already: calls find no object (NOT_FOUND); the
    // handle's release finds nothing to release (ids are never reused).
    (void)cd::exported().acquire(w.object, cd::exports::self, w.token);
    return h;
  }
  auto h = std::make_shared<xref_handle>();
  h->owner = std::move(w.owner);
  h->object = w.object;
  h->type = std::move(w.type);
  try {
    h->link = cd::peer_for(h->owner);
  } catch (const remote_error& e) {
    h->broken.emplace(e);
    return h;
  }
  v1::Frame f;
  f.mutable_x_acquire()->set_object(h->object);
  f.mutable_x_acquire()->set_token(w.token);
  h->link->send(f);
  return h;
}

void xref_listen(const std::string& name, std::shared_ptr<xref_handle> h, const std::string& type) {
  if (!h) throw misuse_error("weft::listen(\"" + name + "\"): the xref is null");
  wire::require_utf8(name, "weft::listen name");
  cd::start_peer_listener();
  cd::names_set(name, std::move(h), type);
}

std::shared_ptr<xref_handle> xref_dial(const std::string& where, const std::string& name, const std::string& type) {
  const std::string address = wire::is_worker_id(where) ? cd::peer_address(where) : where;
  const std::string what = "weft::dial(" + where + ", \"" + name + "\")";
  wire::require_utf8(name, "weft::dial name");
  cd::ensure_xref_run();
  if (address == cd::self_address()) {
    std::optional<cd::named> n = cd::names_get(name);
    if (!n) throw remote_error(remote_errc::refused, what + ": nothing listens as \"" + name + "\" in this process");
    if (n->type != type)
      throw remote_error(remote_errc::refused,
                         what + ": it is an xref<" + n->type + ">, dialed as an xref<" + type + ">");
    return n->handle;
  }
  std::string bytes;
  try {
    std::shared_ptr<cd::peer_link> link = cd::peer_for(address);
    auto out = std::make_shared<future_state>();
    v1::Frame f;
    f.mutable_x_dial()->set_name(name);
    f.mutable_x_dial()->set_type(type);
    link->request(std::move(f), out);
    bytes = out->wait_value();
  } catch (const remote_error& e) {
    throw remote_error(e.kind(), what + ": " + e.what());
  }
  auto [owner, object, t, token] =
      weft::decode<std::tuple<std::string, std::uint64_t, std::string, std::string>>(bytes);
  if (t != type) throw remote_error(remote_errc::protocol, what + ": the listener answered with an xref<" + t + ">");
  return xref_decode(xref_wire{std::move(owner), object, std::move(t), std::move(token)});
}

}  // namespace weft::detail
