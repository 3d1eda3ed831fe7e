// src/circuit/run_end.cpp: the run-end callbacks (run_end.hpp).
#include "circuit/run_end.hpp"

#include <mutex>
#include <utility>
#include <vector>

#include <weft/mutex.hpp>

namespace weft::circuit::detail {

namespace {

weft::mutex mu;
std::vector<std::function<void()>> callbacks;

}  // namespace

void at_run_end(std::function<void()> f) {
  std::lock_guard lk(mu);
  callbacks.push_back(std::move(f));
}

void run_end_callbacks() noexcept {
  for (;;) {
    std::function<void()> f;
    {
      std::lock_guard lk(mu);
      if (callbacks.empty()) return;
      f = std::move(callbacks.back());
      callbacks.pop_back();
    }
    try {
      f();
    } catch (...) {
      // A teardown that fails leaves nothing to undo: the run is ending.
    }
  }
}

}  // namespace weft::circuit::detail
