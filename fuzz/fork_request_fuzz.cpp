// fuzz/fork_request_fuzz.cpp: a fork server's reading of weftd's requests,
// and weftd's reading of a fork server's answers (wire/fork_request.hpp),
// on arbitrary input: no crash, no sanitizer report; a request the view
// decoder accepts has an absolute working directory and NAME=VALUE
// entries that all lie inside the input, encodes back to the same bytes,
// and the copying decoder agrees with it; an answer that decodes encodes
// back to something that decodes the same.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "wire/fork_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace wire = weft::wire;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  std::string why;
  std::optional<wire::fork_request_view> v = wire::decode_fork_request_view(in, why);
  std::string why_copy;
  std::optional<wire::fork_request> r = wire::decode_fork_request(in, why_copy);
  if (v.has_value() != r.has_value()) __builtin_trap();
  if (!v) {
    if (why.empty()) __builtin_trap();  // refused without a reason
  } else {
    if (v->cwd.empty() || v->cwd.front() != '/' || v->cwd.data()[v->cwd.size()] != '\0') __builtin_trap();
    std::size_t entries = 0;
    v->for_each_env([&](const char* e) {
      if (e < in.data() || e >= in.data() + in.size()) __builtin_trap();
      std::string_view entry(e);
      if (entry.empty() || entry.front() == '=' || entry.find('=') == std::string_view::npos) __builtin_trap();
      if (entries >= r->env.size() || r->env[entries] != entry) __builtin_trap();
      ++entries;
    });
    if (entries != r->env.size() || r->cwd != v->cwd) __builtin_trap();
    if (wire::encode_fork_request(*r) != in) __builtin_trap();
  }

  if (std::optional<wire::fork_answer> a = wire::decode_fork_answer(in)) {
    std::optional<wire::fork_answer> again = wire::decode_fork_answer(wire::encode_fork_answer(*a));
    if (!again || again->pid != a->pid || again->error != a->error || again->took_connection != a->took_connection ||
        again->spare != a->spare || again->why != a->why)
      __builtin_trap();
  }
  (void)wire::decode_fork_ready(in);
  return 0;
}
