// tests/circuit/xref_peer_prog.cpp: a peer for the cross-reference tests
// (xref_peers_test.cpp). Listens "keeper" (a perm_ref keeper), prints its
// peer address on stdout, and serves until its stdin closes; the tests
// SIGKILL it to kill an owner or a holder for real.
#include <unistd.h>

#include <string>

#include "xref_test_types.hpp"

int main() {
  return weft::run([] {
    weft::listen("keeper", weft::perm_ref(std::make_shared<xref_test::keeper>()));
    std::string line = weft::circuit::detail::self_address() + "\n";
    if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
    weft::blocking([] {
      char b;
      while (::read(0, &b, 1) > 0) {
      }
    });
    return 0;
  });
}
