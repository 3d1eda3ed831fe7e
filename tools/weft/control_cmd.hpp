// tools/weft/control_cmd.hpp: the subcommands that act on processes
// attached to a weftd, through its "control" capability (docs/protocol.md,
// "Control"):
//
//   weft ps [--json]                 the attached processes
//   weft stk SELECTOR...             each one's goroutine dump
//   weft peek SELECTOR...            each one's runtime counters (JSON)
//   weft kill SELECTOR... [--code C] end each one with status C (default 0)
//   weft cpu SELECTOR... [--seconds N] [-o FILE]
//                                    each one's CPU profile, a pprof file
//   weft trace SELECTOR... [--seconds N] [-o FILE]
//                                    record each one's runtime events (trace_cmd.cpp)
//
// A selector is pid:N, an anchor (/db/shard), a subtree (/db/...) or a
// worker id (R + 16 hex digits): targets.hpp turns them into the attached
// processes to ask. Output names each by its selector (pid:N) or by its
// worker's anchor path or id.
// Exit status: 0 when every target answered, 1 when any failed (weftd
// unreachable, no such process, no live worker under an anchor, no answer
// in time), 2 for a usage error.
// One file per subcommand (ps_cmd.cpp, ...); what they share is in
// control_cmd.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "connect.hpp"
#include "targets.hpp"

namespace weft::tool {

struct control_args {
  std::string runtime;  // --runtime
  std::vector<std::string> selectors;
  bool json = false;  // ps, stk, kill, cpu, trace --json
  bool all = false;  // stk --all: every goroutine, not grouped
  int code = 0;  // kill --code; peek --goroutines N
  bool goroutines = false;  // peek --goroutines
  double seconds = 0;  // cpu, trace --seconds (main.cpp sets each one's default)
  std::string output;  // cpu, trace -o
};

int run_ps(const control_args& a);
int run_stk(const control_args& a);
int run_peek(const control_args& a);
int run_kill(const control_args& a);
int run_cpu(const control_args& a);
int run_trace(const control_args& a);

// pid:N -> N; 0 (after printing why, as "weft CMD: ...") for anything else.
std::int64_t parse_selector(const char* cmd, const std::string& s);

// Shared by stk, peek and kill: checks the selectors (a bad one: message,
// status 2), connects, resolves them (targets.hpp), sends `action` to each
// selected process in turn and gives each answer to `print`; failures are
// printed as "weft CMD: LABEL: WHY". Returns the status.
int for_each_target(const char* cmd, const control_args& a, v1::Control::Action action,
                    const std::function<void(const target& t, const std::string& text)>& print);

// for_each_target for answers that take a while and are more than text
// (cpu): each request carries duration_ms, and its reply may take that
// long beyond the usual wait; `before` runs ahead of each request (a
// progress line); `handle` gets the whole reply and returns false when it
// could not use it (it printed why; the status becomes 1). With -o
// (a.output), the selectors must come to one process (else status 2).
// `failed`, if given, also gets each target whose request failed, with
// why (printed on stderr already): --json prints it as an object.
int for_each_reply(const char* cmd, const control_args& a, v1::Control::Action action, std::int64_t duration_ms,
                   const std::function<void(const target& t)>& before,
                   const std::function<bool(const target& t, const v1::ControlReply& reply)>& handle,
                   const std::function<void(const target& t, const std::string& why)>& failed = nullptr);

// The JSON members that say which target a --json object is about:
// "target" (its label), "pid", "worker", "anchor" ("" when none); no braces.
std::string target_json_fields(const target& t);

// The Control that asks t: by process_id when weftd gave one (a worker),
// else by pid.
void address_control(v1::Control* c, const target& t);

}  // namespace weft::tool
