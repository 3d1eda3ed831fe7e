// src/trace/dump_group.hpp: a goroutine dump grouped by identical stacks,
// as Go's goroutine profile at debug=1 shows it: a program with ten
// thousand goroutines parked in one place prints that place once, with its
// count, rather than ten thousand times.
//
// The input is weft::dump_goroutines's text (src/trace/dump.cpp): blocks
// separated by an empty line, each
//
//   goroutine 7 "parked-worker-0" [chan receive, 3 s]:
//   control_prog_parked_here(weft::chan<int>)
//   <tab>/src/control_prog.cpp:17 +0x1f
//   created by main::{lambda()#1}::operator()() const in goroutine 1
//   <tab>/src/control_prog.cpp:25
//
// Two goroutines are in one group when their state and every line below
// the header are the same, with two differences ignored because they are
// not where the goroutine is: how long it has waited (", 3 s") and which
// goroutine created it (" in goroutine 1"). Each group prints as
//
//   10 goroutines: [chan receive]
//   # 7 "parked-worker-0", 8 "parked-worker-1", ... (8 more)
//   control_prog_parked_here(weft::chan<int>)
//   ...
//
// largest group first (ties: in dump order). The "#" line names up to ten
// of them, so that `weft stk --all` can be searched for one. A group of one
// keeps its lines as the dump wrote them. Text that is not a goroutine
// block (a note the stub puts first) is kept, first.
//
// weft stk groups the text it is given; the runtime stub groups a dump
// too large for one protocol frame before sending it (remote/control.cpp),
// hence here, below both.
#pragma once

#include <cstddef>
#include <string>

namespace weft::detail::trace {

std::string group_goroutines(const std::string& dump);

// A dump made to fit `limit` bytes (the protocol's frame limit, for the
// stub's DUMP_GOROUTINES answer): as it is when it fits; else grouped, after
// a first line that says so,
//   weft: the dump of 100000 goroutines is 56000000 bytes, over the 16 MiB frame limit: grouped by stack here
// and if even that does not fit, cut after the last group that does, with a
// last line "weft: N more groups left out (over the frame limit)".
std::string fit_dump(std::string dump, std::size_t limit);
// Whether `dump` is fit_dump's grouped form (weft stk does not group it again).
bool dump_is_grouped(const std::string& dump);

}  // namespace weft::detail::trace
