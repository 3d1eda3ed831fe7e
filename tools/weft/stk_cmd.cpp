// tools/weft/stk_cmd.cpp: `weft stk SELECTOR...`: each selected process's
// goroutine dump (weft::dump_goroutines's text), under a header naming it.
#include <cstdio>

#include "control_cmd.hpp"

namespace weft::tool {

int run_stk(const control_args& a) {
  bool first = true;
  return for_each_target("stk", a, v1::Control::DUMP_GOROUTINES, [&](const std::string& sel, const std::string& text) {
    std::printf("%s== %s ==\n%s", first ? "" : "\n", sel.c_str(), text.c_str());
    if (!text.empty() && text.back() != '\n') std::printf("\n");
    first = false;
  });
}

}  // namespace weft::tool
