// weft/circuit.hpp: the circuit (DESIGN.md): spawn functions in worker
// processes, find them under anchors, and (cross-references) call objects
// that live in another worker.
#pragma once

#include <weft/spawn.hpp>
#include <weft/xref.hpp>
