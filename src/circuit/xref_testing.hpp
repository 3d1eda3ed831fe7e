// src/circuit/xref_testing.hpp: what tests may see of cross-references.
// Never installed; include it only from tests/.
#pragma once

#include <cstddef>

#include "circuit/exports.hpp"
#include "circuit/peers.hpp"

namespace weft::circuit::testing {

// Objects this process exports now (perm ones included).
inline std::size_t live_exports() { return detail::exported().size(); }
// Peer links this run dialed / accepted.
inline std::size_t links_dialed() { return detail::links_dialed(); }
inline std::size_t links_accepted() { return detail::links_accepted(); }

}  // namespace weft::circuit::testing
