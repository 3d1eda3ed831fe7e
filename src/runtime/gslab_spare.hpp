// src/runtime/gslab_spare.hpp: fresh G chunks, committed ahead of need.
// Design at the top of gslab_spare.cpp.
#pragma once

#include <cstddef>

namespace weft::detail {

// A fresh, zeroed, read-write chunk of gslab_spare_bytes, already committed
// in small pages: the spare made ahead on another thread when it is ready,
// else mapped and committed now. Asks for the next spare either way. Null
// when the system has no memory for it.
void* gslab_take_spare();

constexpr std::size_t gslab_spare_bytes = 2u << 20;

// Whether a spare is made and waiting (for tests).
bool gslab_spare_ready() noexcept;

}  // namespace weft::detail
