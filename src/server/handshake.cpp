// src/server/handshake.cpp: answering Hello (see handshake.hpp).
#include "server/handshake.hpp"

#include <algorithm>

namespace weft::server {

namespace {

std::string version_text(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// A client's text in our messages and logs: cut, and without control
// characters (a log line stays one line).
std::string printable(std::string_view s, std::size_t max = 200) {
  std::string out;
  for (char ch : s.substr(0, max)) out += (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ? '?' : ch;
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

wire::frame answer_hello(const wire::frame& first, const identity& self, std::uint64_t process_id) {
  if (!first.has_hello() || first.hello().magic() != protocol_magic) {
    return error_frame(0, v1::Error::PROTOCOL,
                       "not a weft client: the first frame must be a Hello with magic \"" +
                           std::string(protocol_magic) + "\" (docs/protocol.md, \"Handshake\")");
  }
  const v1::Hello& h = first.hello();
  if (h.version().major() != protocol_major) {
    return error_frame(0, v1::Error::VERSION,
                       "server speaks weft runtime protocol " + version_text(protocol_major, protocol_minor) +
                           ", client " + version_text(h.version().major(), h.version().minor()));
  }
  std::vector<std::string> missing;
  for (const std::string& cap : h.required_capabilities()) {
    if (std::find(self.capabilities.begin(), self.capabilities.end(), cap) == self.capabilities.end())
      missing.push_back(printable(cap, 64));
  }
  if (!missing.empty()) {
    std::string names, offered;
    for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
    for (const std::string& c : self.capabilities) offered += (offered.empty() ? "" : ", ") + c;
    return error_frame(0, v1::Error::REFUSED,
                       "this server lacks the capabilit" + std::string(missing.size() == 1 ? "y " : "ies ") + names +
                           " (it offers " + offered + ")");
  }
  wire::frame f;
  v1::Welcome* w = f.mutable_welcome();
  w->mutable_version()->set_major(protocol_major);
  w->mutable_version()->set_minor(protocol_minor);
  w->set_server(self.name);
  for (const std::string& c : self.capabilities) w->add_capabilities(c);
  w->set_max_frame(self.max_frame);
  w->set_process_id(process_id);
  return f;
}

std::string describe_hello(const v1::Hello& h) {
  std::string who = h.role() == v1::Hello::STUB     ? "stub"
                    : h.role() == v1::Hello::TOOL   ? "tool"
                    : h.role() == v1::Hello::DAEMON ? "another host's weftd"
                                                    : "client";
  who += " " + version_text(h.version().major(), h.version().minor());
  if (h.has_process()) {
    const v1::ProcessInfo& p = h.process();
    who += " pid " + std::to_string(p.pid());
    if (!p.host().empty()) who += " on " + printable(p.host(), 64);
    if (!p.binary_path().empty()) who += ", " + printable(p.binary_path());
  }
  return who;
}

}  // namespace weft::server
