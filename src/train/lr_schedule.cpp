#include "featreuse/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace featreuse::train {

namespace {
constexpr double kReduceEps = 1e-8;  // PyTorch's ReduceLROnPlateau eps
}

LrSchedule::LrSchedule(const Recipe& recipe, double base_lr)
    : recipe_(recipe), base_lr_(base_lr), best_(-std::numeric_limits<double>::infinity()) {
  current_ = warm_lr(0);
}

double LrSchedule::warm_lr(int64_t steps_done) const {
  const int64_t n = recipe_.warmup_iters;
  const double target = base_lr_ * scale_;
  if (n == 0) return target;
  const double start = recipe_.warmup_start_lr;
  // The rate for step steps_done + 1.
  const double frac = std::min(1.0, double(steps_done + 1) / double(n));
  return start + (target - start) * frac;
}

void LrSchedule::after_step() {
  ++steps_;
  if (recipe_.warmup == Warmup::additive) {
    if (recipe_.warmup_iters > 0 && steps_ <= recipe_.warmup_iters)
      current_ += (base_lr_ - recipe_.warmup_start_lr) / double(recipe_.warmup_iters);
    return;
  }
  current_ = warm_lr(steps_);
}

void LrSchedule::step_plateau(double val_metric) {
  // Rounded as the reference feeds it, so a gain in the 4th decimal is none.
  const double val_target = recipe_.rounded(val_metric);
  if (recipe_.plateau && !std::isnan(val_target)) {
    if (val_target > best_ * (1.0 + recipe_.plateau_threshold) || std::isinf(best_)) {
      best_ = val_target;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    if (bad_epochs_ > recipe_.plateau_patience) {
      const double old_lr = current_;
      const double new_lr = old_lr * recipe_.plateau_factor;
      if (old_lr - new_lr > kReduceEps) {
        ++reductions_;
        if (recipe_.warmup == Warmup::additive) {
          current_ = new_lr;
        } else {
          scale_ *= recipe_.plateau_factor;
          current_ = warm_lr(steps_);
        }
      }
      bad_epochs_ = 0;
    }
  }
}

bool LrSchedule::in_warmup() const { return steps_ < recipe_.warmup_iters; }

double LrSchedule::post_warmup_lr() const {
  if (recipe_.warmup != Warmup::additive) return base_lr_ * scale_;
  // The increments still to come (one per step up to warmup_iters) land on the current rate.
  const int64_t left = std::max<int64_t>(0, recipe_.warmup_iters - steps_);
  const double increment =
      recipe_.warmup_iters > 0 ? (base_lr_ - recipe_.warmup_start_lr) / double(recipe_.warmup_iters) : 0.0;
  return current_ + double(left) * increment;
}

bool LrSchedule::below_min_lr() const {
  // The warm-up ramp starts far below min_lr, so the rule waits for its end.
  // A relative tolerance: 1e-4 * 0.1^2 must count as reaching 1e-6, not as falling below it.
  return recipe_.min_lr > 0 && !in_warmup() && post_warmup_lr() < recipe_.min_lr * (1 - 1e-9);
}

nlohmann::json LrSchedule::state() const {
  return {
      {"scale", scale_},           {"current", current_},
      {"steps", steps_},           {"bad_epochs", bad_epochs_},
      {"reductions", reductions_}, {"best", std::isinf(best_) ? nlohmann::json() : nlohmann::json(best_)}};
}

void LrSchedule::restore(const nlohmann::json& s) {
  scale_ = s["scale"];
  current_ = s["current"];
  steps_ = s["steps"];
  bad_epochs_ = s["bad_epochs"];
  reductions_ = s["reductions"];
  best_ = s["best"].is_null() ? -std::numeric_limits<double>::infinity() : s["best"].get<double>();
}

}  // namespace featreuse::train
