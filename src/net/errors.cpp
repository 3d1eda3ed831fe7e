// src/net/errors.cpp: the exceptions weft::net throws.
//
// Every failure is a std::system_error whose what() reads like Go's
// net.OpError, with weft's prefix: "weft::net::dial tcp 127.0.0.1:1:
// Connection refused". Codes are errno values in std::generic_category, so
// that both `e.code() == std::errc::timed_out` and a comparison with
// std::make_error_code(std::errc::timed_out) hold. Two cases have their own
// category, for their message: a use of a closed conn or listener ("use of
// closed network connection", Go's words; equivalent to
// errc::bad_file_descriptor) and a getaddrinfo failure (gai_strerror's
// words, "Name or service not known").
#include <netdb.h>

#include <cerrno>
#include <system_error>

#include "net/address.hpp"

namespace weft::detail {
namespace {

class closed_category_t final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft::net"; }
  std::string message(int) const override { return "use of closed network connection"; }
  std::error_condition default_error_condition(int) const noexcept override { return std::errc::bad_file_descriptor; }
};

class gai_category_t final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int eai) const override { return ::gai_strerror(eai); }
};

const closed_category_t closed_category;
const gai_category_t gai_category;

}  // namespace

std::string describe(const char* op, std::string_view net, std::string_view address) {
  std::string s = "weft::net::";
  s += op;
  if (!net.empty()) {
    s += ' ';
    s += net;
    s += ' ';
    s += address;
  }
  return s;
}

void throw_net_error(const std::string& what, int err) { throw std::system_error(err, std::generic_category(), what); }

void throw_net_closed(const std::string& what) { throw std::system_error(EBADF, closed_category, what); }

void throw_gai_error(const std::string& what, int eai, int err) {
  if (eai == EAI_SYSTEM && err != 0) throw_net_error(what, err);
  throw std::system_error(eai, gai_category, what);
}

}  // namespace weft::detail
