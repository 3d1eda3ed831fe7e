// src/remote/worker_exit.cpp: a worker's end (worker_exit.hpp).
#include "remote/worker_exit.hpp"

#include <cstdio>
#include <iostream>

#include "platform/process.hpp"

namespace weft::remote::detail {

void end_worker_process(int code) noexcept {
  try {
    std::cout.flush();
    std::cerr.flush();
    std::clog.flush();
  } catch (...) {}  // a stream set to throw: what it could not write is lost either way
  std::fflush(nullptr);
  weft::detail::os::exit_now(code);
}

}  // namespace weft::remote::detail
