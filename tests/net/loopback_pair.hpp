// tests/net/loopback_pair.hpp: a connected pair of weft::net conns over
// loopback TCP inside a weft::run at `procs`, for the net tests
// (net_faults_test.cpp, short_read_test.cpp).
#pragma once

#include <weft/net.hpp>
#include <weft/weft.hpp>

#include "weft_test_util.hpp"

namespace weft_test {

// f(client, server), inside weft::run.
template <class F>
void with_loopback_pair(int procs, F f) {
  weft::run(
      [&] {
        weft::net::listener ln = weft::net::listen("tcp", "127.0.0.1:0");
        weft::net::conn client = weft::net::dial("tcp", ln.address());
        weft::net::conn server = ln.accept();
        f(client, server);
      },
      procs_opt(procs));
}

}  // namespace weft_test
