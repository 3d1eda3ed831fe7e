// src/wire/weftd_binary.hpp: where the weftd program is, for whoever
// starts one: the circuit's first spawn (the local weftd) and `weft
// remote` (a private passthrough). Below both the circuit and the tools.
#pragma once

#include <string>

namespace weft::wire {

// weftd's path: `given` if non-empty; else $WEFT_WEFTD; else `weftd`
// beside this program's binary, or one directory up (a build tree has
// tools/weft/weft and tools/weftd); else the one this build of weft made,
// else its install prefix's; else "weftd", to be found on PATH.
std::string find_weftd(const std::string& given = {});

}  // namespace weft::wire
