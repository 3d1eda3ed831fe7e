// weft/detail/spawn_core.hpp: what weft/spawn.hpp's templates call into
// (src/circuit/spawn.cpp, src/circuit/registry.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace weft {
struct spawn_options;
class worker;
}  // namespace weft

namespace weft::detail {

// Runs a spawnable function on its encoded arguments; returns its encoded
// result ("" for void). Throws what the function throws, or
// remote_error{protocol} for arguments that do not decode.
using spawn_invoker = std::string (*)(std::string_view args);
using any_function = void (*)();

// WEFT_SPAWNABLE's registration (at static initialization).
bool register_spawnable(const char* name, any_function fn, std::string (*signature)(), spawn_invoker invoke);
// The name fn was registered under. Throws misuse_error if it was not.
std::string spawnable_name(any_function fn);

struct spawn_state;
// Sends the Spawn request and returns at once.
std::shared_ptr<spawn_state> spawn_start(const spawn_options& opts, std::string name, std::string signature,
                                         std::string args);
// Parks until the outcome: the encoded result, or throws remote_exception
// (the function threw) or remote_error (the system failed).
const std::string& spawn_result(spawn_state& s);
// Parks until the worker runs (or the spawn failed: throws remote_error).
weft::worker spawn_worker(spawn_state& s);

// weft::worker's calls to its weftd.
void worker_kill(const std::string& id, bool hard);
int worker_wait(const std::string& id);

}  // namespace weft::detail
