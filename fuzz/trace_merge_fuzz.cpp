// fuzz/trace_merge_fuzz.cpp: weft trace's merge of trace documents
// (src/wire/trace_merge.cpp) on arbitrary parts. The documents come from
// the traced processes, i.e. from other processes. The input is split at
// each NUL into parts. No crash, no sanitizer report; a merge either
// refuses (std::invalid_argument) or gives a document with the trace's
// head and tail; and merging that document alone gives it back (its times
// are aligned already: merging is idempotent).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "wire/trace_json.hpp"
#include "wire/trace_merge.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  std::vector<std::string> names;
  for (std::size_t from = 0;;) {
    std::size_t nul = text.find('\0', from);
    parts.push_back(text.substr(from, nul == std::string_view::npos ? std::string_view::npos : nul - from));
    names.push_back("part " + std::to_string(names.size()));
    if (nul == std::string_view::npos) break;
    from = nul + 1;
  }
  std::string merged;
  try {
    merged = weft::wire::merge_traces(parts, names);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  using weft::wire::trace_json_head, weft::wire::trace_json_tail;
  if (merged.size() < trace_json_head.size() + trace_json_tail.size() || merged.rfind(trace_json_head, 0) != 0 ||
      merged.substr(merged.size() - trace_json_tail.size()) != trace_json_tail)
    __builtin_trap();
  if (weft::wire::merge_traces({merged}, {"merged"}) != merged) __builtin_trap();
  return 0;
}
