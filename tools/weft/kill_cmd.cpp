// tools/weft/kill_cmd.cpp: `weft kill SELECTOR... [--code C] [--json]`:
// each selected process ends with exit status C (its stdio flushed, as
// Go's os.Exit) once it has answered; prints what each said it will do.
// --json: one object per process and line instead, {"target","pid",
// "worker","anchor","ok":true,"outcome":TEXT} or {...,"ok":false,"error":WHY}.
#include <cstdio>

#include "control_cmd.hpp"
#include "wire/json.hpp"

namespace weft::tool {

int run_kill(const control_args& a) {
  return for_each_reply(
      "kill", a, v1::Control::EXIT, 0, nullptr,
      [&a](const target& t, const v1::ControlReply& reply) {
        if (a.json) {
          std::printf("{%s,\"ok\":true,\"outcome\":%s}\n", target_json_fields(t).c_str(),
                      wire::json_string(reply.text()).c_str());
        } else {
          std::printf("%s: %s\n", t.label.c_str(), reply.text().c_str());
        }
        return true;
      },
      [&a](const target& t, const std::string& why) {
        if (a.json)
          std::printf("{%s,\"ok\":false,\"error\":%s}\n", target_json_fields(t).c_str(),
                      wire::json_string(why).c_str());
      });
}

}  // namespace weft::tool
