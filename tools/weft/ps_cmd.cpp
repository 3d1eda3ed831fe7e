// tools/weft/ps_cmd.cpp: `weft ps [--json]`: the processes attached to the
// weftd, from its Control LIST (docs/protocol.md, "Control").
//
// The table has one line per process, by process id: PID, ID (the weftd's
// process_id), PROCS, ATTACHED (local time), HOST, COMMAND (its argv). With
// --json: one array of objects with pid, process_id, host, binary, argv,
// procs, attached_unix_ms and worker_id (a circuit worker's id, else "").
#include <cstdio>
#include <ctime>
#include <string>

#include "control_cmd.hpp"
#include "wire/json.hpp"

namespace weft::tool {

namespace {

std::string local_time(std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string command_of(const v1::ProcessInfo& p) {
  std::string c;
  for (const std::string& a : p.argv()) c += (c.empty() ? "" : " ") + a;
  return c.empty() ? p.binary_path() : c;
}

}  // namespace

int run_ps(const control_args& a) {
  return run_tool("ps", a.runtime, [&](const std::string& address) {
    runtime_client rc = runtime_client::connect(address, {"control"});
    wire::frame req;
    req.mutable_control()->set_action(v1::Control::LIST);
    wire::frame r = rc.call(req);
    if (!r.has_control_reply())
      throw tool_error("weftd at " + address + ": " +
                       (r.has_error() ? r.error().message() : std::string("answered LIST with something else")));
    const auto& procs = r.control_reply().processes();
    if (a.json) {
      std::string out = "[";
      for (const v1::ProcessEntry& e : procs) {
        const v1::ProcessInfo& p = e.process();
        out += out.size() > 1 ? ",\n " : "";
        out += "{\"pid\":" + std::to_string(p.pid()) + ",\"process_id\":" + std::to_string(e.process_id()) +
               ",\"host\":" + wire::json_string(p.host()) + ",\"binary\":" + wire::json_string(p.binary_path()) +
               ",\"argv\":[";
        for (int i = 0; i < p.argv_size(); ++i) out += (i ? "," : "") + wire::json_string(p.argv(i));
        out += "],\"procs\":" + std::to_string(p.procs()) +
               ",\"attached_unix_ms\":" + std::to_string(e.attached_unix_ms()) +
               ",\"worker_id\":" + wire::json_string(e.worker_id()) + "}";
      }
      std::printf("%s]\n", out.c_str());
      return 0;
    }
    std::printf("%-8s %-5s %-5s %-19s  %-16s %s\n", "PID", "ID", "PROCS", "ATTACHED", "HOST", "COMMAND");
    for (const v1::ProcessEntry& e : procs) {
      const v1::ProcessInfo& p = e.process();
      std::printf("%-8lld %-5llu %-5d %-19s  %-16s %s\n", static_cast<long long>(p.pid()),
                  static_cast<unsigned long long>(e.process_id()), p.procs(), local_time(e.attached_unix_ms()).c_str(),
                  p.host().c_str(), command_of(p).c_str());
    }
    return 0;
  });
}

}  // namespace weft::tool
