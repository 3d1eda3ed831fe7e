// tools/weft/trace_cmd.cpp: `weft trace SELECTOR... [--seconds N] [-o FILE]`:
// records each selected process's runtime events for N seconds (default 5)
// and writes them as a Chrome/Perfetto trace, the trace logger's format
// (goroutines as tracks, blocks with their reasons, channel operations,
// blocking calls, steals, remote calls, xref calls between workers), to
// FILE, else to weft-trace-PID.json in the current directory; prints each
// one's summary table on stderr and the file's path on stdout.
//
// With -o and several processes, FILE is one document of them all
// (wire/trace_merge.hpp: spliced, not parsed; each process its own pid,
// their clocks aligned), so the flows of xref calls between them join
// their tracks. Without -o each still gets its own file: a document per
// process is what a process-at-a-time reader wants, and naming one file
// is what asks for them together. A process that failed is left out of
// the merged file (its error printed, status 1).
//
// One Control TRACE per process (docs/protocol.md, "Traces on request"):
// the process records and answers with the document, weftd relays it. The
// processes are traced at once, each over its own connection in a
// goroutine of its own, so their windows coincide and N seconds is N
// seconds however many are named. A process refuses a second trace while
// one runs, or while it streams to a trace logger (weft remote --trace).
// Exit status as the other control commands: 0 when every trace was
// written, 1 when any failed, 2 for a usage error.
// --json: stdout has one object per process and line instead,
// {"target","pid","worker","anchor","ok":true,"file":PATH,"seconds":S,
// "summary":TEXT} or {...,"ok":false,"error":WHY}; the summary still goes
// to stderr too.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string_view>
#include <string>
#include <vector>

#include <weft/go.hpp>
#include <weft/wait_group.hpp>

#include "control_cmd.hpp"
#include "wire/json.hpp"
#include "wire/trace_json.hpp"
#include "wire/trace_merge.hpp"

namespace weft::tool {

namespace {

// What one selected process gave: its reply, or why there is none.
struct outcome {
  bool ok = false;
  std::string summary;  // ControlReply.text
  std::string json;  // ControlReply.data
  std::string error;
};

std::string seconds_text(double s) {
  char buf[32];
  if (s == std::floor(s)) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else {
    std::snprintf(buf, sizeof buf, "%g s", s);
  }
  return buf;
}

outcome trace_one(const std::string& address, const target& t, std::int64_t duration_ms) {
  outcome o;
  try {
    runtime_client rc = runtime_client::connect(address, {"control"});
    wire::frame req;
    v1::Control* c = req.mutable_control();
    c->set_action(v1::Control::TRACE);
    address_control(c, t);
    c->set_duration_ms(duration_ms);
    // weftd answers within its timeout plus a trace's build time (25 s in
    // all) after the recording: wait longer than that, so its own error
    // (TIMEOUT, NOT_FOUND) is the one the user sees.
    wire::frame r = rc.call(req, std::chrono::milliseconds(duration_ms) + std::chrono::seconds(35));
    if (r.has_control_reply()) {
      o.ok = true;
      o.summary = r.control_reply().text();
      o.json = r.control_reply().data();
    } else {
      o.error = r.has_error() ? r.error().message() : "weftd answered with something else";
    }
  } catch (const tool_error& e) {
    o.error = e.what();
  }
  return o;
}

bool write_file(const std::string& path, const std::string& text, std::string* why) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (out) return true;
  *why = "cannot write " + path + " (check that its directory exists and is writable, or name another with -o)";
  return false;
}

// The successful outcomes' documents as one, into path. A process's
// track is renamed after its target when that says more than its pid (a
// worker: "/db/shard/R... (pid N)"), so the merged document tells its
// processes apart; a later process_name wins in Perfetto's importer.
bool merge_into(const std::string& path, const std::vector<target>& targets, const std::vector<outcome>& outcomes,
                std::string* why) {
  std::vector<std::string_view> parts;
  std::vector<std::string> names;
  std::string renames(wire::trace_json_head);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (!outcomes[i].ok) continue;
    parts.push_back(outcomes[i].json);
    names.push_back(targets[i].label);
    if (targets[i].worker_id.empty()) continue;
    renames += renames.size() == wire::trace_json_head.size() ? "\n" : ",\n";
    renames += "{\"ph\":\"M\",\"pid\":" + std::to_string(targets[i].pid) +
               ",\"name\":\"process_name\",\"args\":{\"name\":" +
               wire::json_string(targets[i].label + " (pid " + std::to_string(targets[i].pid) + ")") + "}}";
  }
  renames += wire::trace_json_tail;
  parts.push_back(renames);
  names.emplace_back("weft trace's track names");
  try {
    return write_file(path, wire::merge_traces(parts, names), why);
  } catch (const std::invalid_argument& e) {
    *why = e.what();
    return false;
  }
}

}  // namespace

int run_trace(const control_args& a) {
  if (!check_selectors("trace", a.selectors)) return 2;
  std::set<std::string> seen;
  for (const std::string& s : a.selectors) {
    if (!seen.insert(s).second) {
      std::fprintf(stderr, "weft trace: %s is named twice: one trace per process at a time\n", s.c_str());
      return 2;
    }
  }
  const auto duration_ms = std::max<std::int64_t>(1, std::llround(a.seconds * 1000));
  return run_tool("trace", a.runtime, [&](const std::string& address) {
    // The selectors are resolved once, over one connection; each trace
    // then has a connection of its own (the header says why).
    int status = 0;
    std::vector<target> targets;
    {
      runtime_client rc = runtime_client::connect(address, capabilities_for(a.selectors));
      targets = resolve_targets("trace", rc, a.selectors, &status);
    }
    for (const target& t : targets)
      std::fprintf(stderr, "weft trace: recording %s for %s...\n", t.label.c_str(), seconds_text(a.seconds).c_str());
    std::vector<outcome> outcomes(targets.size());
    weft::wait_group wg;
    wg.add(static_cast<int>(targets.size()));
    for (std::size_t i = 0; i < targets.size(); ++i) {
      weft::go([&, i] {
        outcomes[i] = trace_one(targets[i].runtime.empty() ? address : targets[i].runtime, targets[i], duration_ms);
        wg.done();
      });
    }
    wg.wait();
    // -o with several processes: one document of them all (the header).
    std::string merge_error;
    const bool merged = !a.output.empty() && targets.size() > 1;
    const bool any_ok = std::any_of(outcomes.begin(), outcomes.end(), [](const outcome& o) { return o.ok; });
    if (merged && any_ok && !merge_into(a.output, targets, outcomes, &merge_error)) {
      for (outcome& o : outcomes) {  // each one's line below says why
        if (!o.ok) continue;
        o.ok = false;
        o.error = merge_error;
      }
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const std::string& sel = targets[i].label;
      outcome& o = outcomes[i];
      const std::string path = a.output.empty() ? "weft-trace-" + std::to_string(targets[i].pid) + ".json" : a.output;
      std::string why = o.error;
      if (o.ok && (merged || write_file(path, o.json, &why))) {
        std::fwrite(o.summary.data(), 1, o.summary.size(), stderr);
        if (a.json) {
          std::printf("{%s,\"ok\":true,\"file\":%s,\"seconds\":%g,\"summary\":%s}\n",
                      target_json_fields(targets[i]).c_str(), wire::json_string(path).c_str(), a.seconds,
                      wire::json_string(o.summary).c_str());
        } else {
          std::printf("weft trace: %s: trace in %s (open it in https://ui.perfetto.dev)\n", sel.c_str(), path.c_str());
        }
        continue;
      }
      std::fprintf(stderr, "weft trace: %s: %s\n", sel.c_str(), why.c_str());
      if (a.json)
        std::printf("{%s,\"ok\":false,\"error\":%s}\n", target_json_fields(targets[i]).c_str(),
                    wire::json_string(why).c_str());
      status = 1;
    }
    std::fflush(stdout);
    return status;
  });
}

}  // namespace weft::tool
