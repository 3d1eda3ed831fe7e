// src/runtime/quick_spin.cpp: the quick-reply spin's policy (design in
// quick_spin.hpp). Owner M only: no synchronization.
#include "runtime/quick_spin.hpp"

#include <algorithm>

namespace weft::detail {

void quick_spin::sample(bool crowded) noexcept {
  // An average over about the last eight looks.
  if (crowded)
    crowded_score_ += (score_one - crowded_score_) / 8;
  else
    crowded_score_ -= crowded_score_ / 8;
}

std::int64_t quick_spin::begin(bool spare) noexcept {
  cut_short_ = false;
  sample(!spare);
  if (!spare || crowded_score_ > score_one / 4) return 0;
  return ++spins_ % probe_every == 0 ? max_ns : budget_ns_;
}

bool quick_spin::may_go_on(bool spare) noexcept {
  if (spare) return true;
  sample(true);
  cut_short_ = true;
  return false;
}

void quick_spin::found() noexcept { budget_ns_ = std::min(2 * budget_ns_, max_ns); }

void quick_spin::ran_out() noexcept {
  if (!cut_short_) budget_ns_ = std::max(budget_ns_ - budget_ns_ / 8, min_ns);
}

}  // namespace weft::detail
