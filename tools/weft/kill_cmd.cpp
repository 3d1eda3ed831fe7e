// tools/weft/kill_cmd.cpp: `weft kill SELECTOR... [--code C]`: each selected
// process ends with exit status C (its stdio flushed, as Go's os.Exit) once
// it has answered; prints what each said it will do.
#include <cstdio>

#include "control_cmd.hpp"

namespace weft::tool {

int run_kill(const control_args& a) {
  return for_each_target("kill", a, v1::Control::EXIT, [](const target& t, const std::string& text) {
    std::printf("%s: %s\n", t.label.c_str(), text.c_str());
  });
}

}  // namespace weft::tool
