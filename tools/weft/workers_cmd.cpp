// tools/weft/workers_cmd.cpp: `weft kill` for workers and `weft logs`
// (circuit_cmd.hpp).
//
// kill: each selector becomes worker ids (select_workers, targets.hpp: an
// id as is; an anchor or a subtree through AnchorList), each worker is signalled once (graceful:
// SIGTERM, its weft::on_shutdown hooks run, and SIGKILL after the grace
// period, 5 s or --grace; --hard: SIGKILL), and the command waits for each
// one's end and prints it as weftd words it: "R8efd...: exited after its
// shutdown hooks (0.2 s after SIGTERM)". A selector that names no live worker is an error (status 1),
// unlike ls: kill was asked to end something.
// --json: one object per worker and line instead, {"target","worker",
// "anchor","ok":true,"outcome":TEXT,"status":N} or {...,"ok":false,"error"}.
//
// logs --json: one object, {"target","worker","ok":true,"logs":TEXT} or
// {...,"ok":false,"error":WHY} (status 1).
#include <cstdio>

#include <map>

#include "circuit_cmd.hpp"
#include "targets.hpp"
#include "wire/json.hpp"
#include "wire/worker_id.hpp"
#include "wire/utf8.hpp"

namespace weft::tool {

bool worker_selector(const std::string& s) { return !s.empty() && (s[0] == '/' || s[0] == 'R'); }

std::string anchor_path_not_utf8(const std::string& path) {
  if (wire::is_utf8(path)) return "";
  return "anchor path \"" + wire::escaped_bytes(path) + "\" is not UTF-8, as anchors are";
}

namespace {

std::string worker_json_fields(const std::string& id, const std::string& path) {
  // path: the worker's entry, "/db/shard/R8efd...", as peek's "anchor"
  return "\"target\":" + wire::json_string(path.empty() ? id : path) + ",\"worker\":" + wire::json_string(id) +
         ",\"anchor\":" + wire::json_string(path);
}

}  // namespace

int run_kill_workers(const circuit_args& a) {
  if (!check_selectors("kill", a.selectors)) return 2;
  return run_tool("kill", a.runtime, [&](const std::string& address) {
    runtime_client rc = runtime_client::connect(address, {"circuit"});
    int status = 0;
    std::vector<std::string> ids;
    std::map<std::string, std::string> path_of;  // id -> the anchor it was selected under
    for (const selected_worker& w : select_workers("kill", rc, a.selectors, &status)) {
      ids.push_back(w.id);
      path_of[w.id] = w.path;
    }
    auto failed = [&](const std::string& id, const std::string& why) {
      std::fprintf(stderr, "weft kill: %s: %s\n", id.c_str(), why.c_str());
      if (a.json)
        std::printf("{%s,\"ok\":false,\"error\":%s}\n", worker_json_fields(id, path_of[id]).c_str(),
                    wire::json_string(why).c_str());
      status = 1;
    };
    std::vector<std::string> signalled;
    for (const std::string& id : ids) {
      wire::frame req;
      req.mutable_worker_kill()->set_worker_id(id);
      req.mutable_worker_kill()->set_hard(a.hard);
      req.mutable_worker_kill()->set_grace_ms(static_cast<std::int64_t>(a.grace_seconds * 1000));
      wire::frame r = rc.call(req);
      if (r.has_error()) {
        failed(id, r.error().message());
        continue;
      }
      signalled.push_back(id);
    }
    const double grace = a.grace_seconds > 0 ? a.grace_seconds : 5;
    if (!signalled.empty() && !a.hard)
      std::fprintf(stderr, "weft kill: waiting for %zu worker(s) to run their shutdown hooks (SIGKILL after %g s)\n",
                   signalled.size(), grace);
    for (const std::string& id : signalled) {
      wire::frame req;
      req.mutable_worker_wait()->set_worker_id(id);
      wire::frame r = rc.call(req, std::chrono::milliseconds(static_cast<std::int64_t>(grace * 1000) + 10'000));
      if (r.has_worker_exit() && a.json) {
        std::printf("{%s,\"ok\":true,\"outcome\":%s,\"status\":%d}\n", worker_json_fields(id, path_of[id]).c_str(),
                    wire::json_string(r.worker_exit().text()).c_str(), r.worker_exit().status());
      } else if (r.has_worker_exit()) {
        std::printf("%s: %s\n", id.c_str(), r.worker_exit().text().c_str());
      } else {
        failed(id, r.has_error() ? r.error().message() : "weftd answered with something else");
      }
    }
    std::fflush(stdout);
    return status;
  });
}

int run_logs(const circuit_args& a) {
  if (a.selectors.size() != 1 || !wire::is_worker_id(a.selectors[0])) {
    std::fprintf(stderr, "weft logs: name one worker by its id (R and 16 hex digits; weft ls -l lists them)\n");
    return 2;
  }
  return run_tool("logs", a.runtime, [&](const std::string& address) {
    const std::string& id = a.selectors[0];
    wire::frame r;
    try {
      runtime_client rc = runtime_client::connect(address, {"circuit"});
      wire::frame req;
      req.mutable_worker_log()->set_worker_id(id);
      r = rc.call(req);
      if (!r.has_worker_log_data())
        throw tool_error(id + ": " +
                         (r.has_error() ? r.error().message() : std::string("weftd answered with something else")));
    } catch (const tool_error& e) {
      if (a.json)
        std::printf("{%s,\"ok\":false,\"error\":%s}\n", worker_json_fields(id, "").c_str(),
                    wire::json_string(e.what()).c_str());
      throw;
    }
    const std::string& d = r.worker_log_data().data();
    if (a.json) {
      std::printf("{%s,\"ok\":true,\"logs\":%s}\n", worker_json_fields(id, "").c_str(), wire::json_string(d).c_str());
    } else {
      std::fwrite(d.data(), 1, d.size(), stdout);
    }
    std::fflush(stdout);
    return 0;
  });
}

}  // namespace weft::tool
