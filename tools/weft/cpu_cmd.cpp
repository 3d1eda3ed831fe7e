// tools/weft/cpu_cmd.cpp: `weft cpu SELECTOR... [--seconds N] [-o FILE]`:
// a CPU profile of each selected process (docs/protocol.md, "CPU
// profiles"), written as a gzip-compressed pprof file, one per process:
// FILE with one process, else weft-cpu-PID.pb.gz in the current directory
// (a worker's pid: weft ls -l). Selectors as the other control commands.
// The targets are profiled one after the other, each for N seconds, with a
// progress line on stderr: a profile takes as long as it records.
// --json: stdout has one object per process and line instead of the
// file's path, {"target","pid","worker","anchor","ok":true,"file":PATH,
// "bytes":N,"seconds":S} or {...,"ok":false,"error":WHY}.
#include <cmath>
#include <cstdio>
#include <fstream>

#include "control_cmd.hpp"
#include "wire/json.hpp"

namespace weft::tool {

int run_cpu(const control_args& a) {
  if (!a.output.empty() && a.selectors.size() > 1) {
    std::fprintf(stderr,
                 "weft cpu: -o names one file, and %zu processes are selected; leave -o out (each profile goes to "
                 "weft-cpu-PID.pb.gz) or select one\n",
                 a.selectors.size());
    return 2;
  }
  const auto duration_ms = static_cast<std::int64_t>(std::llround(a.seconds * 1000));
  return for_each_reply(
      "cpu", a, v1::Control::CPU_PROFILE, duration_ms,
      [&a](const target& t) {
        std::fprintf(stderr, "weft cpu: profiling %s for %g s...\n", t.label.c_str(), a.seconds);
      },
      [&a](const target& t, const v1::ControlReply& reply) {
        const char* selector = t.label.c_str();
        const std::string path = a.output.empty() ? "weft-cpu-" + std::to_string(t.pid) + ".pb.gz" : a.output;
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reply.data().data(), static_cast<std::streamsize>(reply.data().size()));
        out.close();
        if (!out) {
          std::fprintf(stderr, "weft cpu: %s: cannot write %s; name another file with -o\n", selector, path.c_str());
          if (a.json)
            std::printf("{%s,\"ok\":false,\"error\":%s}\n", target_json_fields(t).c_str(),
                        wire::json_string("cannot write " + path).c_str());
          return false;
        }
        if (a.json) {
          std::printf("{%s,\"ok\":true,\"file\":%s,\"bytes\":%zu,\"seconds\":%g}\n", target_json_fields(t).c_str(),
                      wire::json_string(path).c_str(), reply.data().size(), a.seconds);
        } else {
          std::printf("%s\n", path.c_str());
        }
        std::fprintf(stderr, "weft cpu: %s: wrote %s (%zu bytes); view it with: go tool pprof -top %s\n", selector,
                     path.c_str(), reply.data().size(), path.c_str());
        return true;
      },
      [&a](const target& t, const std::string& why) {
        if (a.json)
          std::printf("{%s,\"ok\":false,\"error\":%s}\n", target_json_fields(t).c_str(),
                      wire::json_string(why).c_str());
      });
}

}  // namespace weft::tool
