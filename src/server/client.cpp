// src/server/client.cpp: reply builders and names (see client.hpp).
#include "server/client.hpp"
#include "wire/utf8.hpp"

#include <utility>

namespace weft::server {

wire::frame error_frame(std::uint64_t id, v1::Error::Code code, std::string message) {
  wire::frame f;
  f.set_id(id);
  v1::Error* e = f.mutable_error();
  e->set_code(code);
  e->set_message(wire::utf8_text(std::move(message)));  // it may quote a path or a name
  return f;
}

wire::frame done_frame(std::uint64_t id, v1::ChanDone::Status status, std::string value) {
  wire::frame f;
  f.set_id(id);
  v1::ChanDone* d = f.mutable_chan_done();
  d->set_status(status);
  if (!value.empty()) d->set_value(std::move(value));
  return f;
}

wire::frame offer_frame(std::uint64_t id, std::string value) {
  wire::frame f;
  f.set_id(id);
  f.mutable_offer()->set_value(std::move(value));
  return f;
}

wire::frame ok_frame(std::uint64_t id) {
  wire::frame f;
  f.set_id(id);
  f.mutable_ok();
  return f;
}

const char* code_name(v1::Error::Code c) noexcept {
  switch (c) {
    case v1::Error::PROTOCOL: return "PROTOCOL";
    case v1::Error::VERSION: return "VERSION";
    case v1::Error::UNAUTHORIZED: return "UNAUTHORIZED";
    case v1::Error::REFUSED: return "REFUSED";
    case v1::Error::NOT_FOUND: return "NOT_FOUND";
    case v1::Error::CLOSED: return "CLOSED";
    case v1::Error::CANCELLED: return "CANCELLED";
    case v1::Error::TOO_LARGE: return "TOO_LARGE";
    case v1::Error::INTERNAL: return "INTERNAL";
    case v1::Error::TIMEOUT: return "TIMEOUT";
    default: return "CODE_UNSPECIFIED";
  }
}

const char* mode_name(v1::Mode m) noexcept {
  switch (m) {
    case v1::WAIT: return "WAIT";
    case v1::TRY: return "TRY";
    case v1::OFFER: return "OFFER";
    case v1::OFFER_NOW: return "OFFER_NOW";
    default: return "MODE_UNSPECIFIED";
  }
}

}  // namespace weft::server
