// src/trace/dump_internal.hpp: goroutine dumps, for fatal paths and SIGQUIT
// (through runtime/fatal.hpp's trace_hooks) and weft::dump_goroutines.
#pragma once

#include <iosfwd>
#include <string>
#include <unordered_map>
#include <utility>

#include "runtime/runtime.hpp"

namespace weft::detail {

// Narrows pcs[first, last) to the goroutine's own frames: drops the
// runtime's switching frames at the top (up to and including switch_to, or
// __cxa_throw for a panic) and its entry frames at the bottom (g_entry and
// below).
void trim_runtime_frames(void* const* pcs, int n, int* first, int* last);

// The printed text of each distinct stack and creation site one dump has
// met: thousands of goroutines parked at the same place share them, so a
// dump symbolizes and formats each once (issue 16: a dump of 100,000).
// Bounded by the dump's goroutines; it lives as long as one dump.
struct dump_memo {
  std::unordered_map<std::string, std::string> traces;  // the pcs' bytes -> the trimmed, printed trace
  std::unordered_map<void*, std::pair<std::string, std::string>> creators;  // pc -> "created by f", "\tfile:line\n"
};

// Writes one goroutine: header, the given trace, its creation site.
// state: what to print as the state (a waiting G's reason must be read while
// it is held parked); null: read it from gp now (the caller's own G).
// memo: a dump's memo (null: symbolize afresh).
void describe_goroutine(std::ostream& out, g* gp, void* const* pcs, int n, const std::string* state = nullptr,
                        dump_memo* memo = nullptr);
// Writes every goroutine. `self` (may be null) is the caller's own
// goroutine, whose trace the caller captured (self_pcs, self_n).
void dump_all_goroutines(std::ostream& out, g* self, void* const* self_pcs, int self_n);
// weft::dump_goroutines's text, as a string the caller owns (a dump of
// 100,000 goroutines is ~56 MB: not copied again into another stream).
// The caller's own trace leaves out its `skip` innermost frames.
std::string dump_goroutines_text(int skip = 0);

}  // namespace weft::detail
