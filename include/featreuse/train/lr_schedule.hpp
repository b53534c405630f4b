#pragma once
// The learning rate over training: warmup, then reduction on a validation
// plateau, and the rule that ends training once it falls below min_lr.
//
// warmup "linear" (the paper): the rate climbs linearly from warmup_start_lr
// to lr over warmup_iters steps; plateau reductions scale the target.
// warmup "additive" (the reference code's LinearWarmup): the first step uses
// start + d with d = (lr - start) / warmup_iters, and each later step up to
// warmup_iters adds d to the current rate, so a reduction during warmup is
// mostly undone by later increments; the rate settles at start + (n+1) d.
// Plateau: PyTorch's ReduceLROnPlateau (mode max, relative threshold,
// cooldown 0, eps 1e-8) on the validation target rounded to select_decimals,
// stepped once per epoch; the trainer decides where in the epoch (recipe key
// plateau_step).
#include "featreuse/core/json.hpp"
#include "featreuse/train/recipe.hpp"

namespace featreuse::train {

class LrSchedule {
 public:
  LrSchedule(const Recipe& recipe, double base_lr);
  double lr() const { return current_; }  // for the next optimiser step
  void after_step();                      // once per optimiser step
  // One ReduceLROnPlateau step on a validation target (NaN: skipped), which
  // it rounds to the recipe's select_decimals first, as the reference does.
  void step_plateau(double val_metric);
  // The end rule: once warm-up is over, the rate fell below min_lr (never
  // when min_lr is 0). The ramp itself never ends training.
  bool below_min_lr() const;
  bool in_warmup() const;  // fewer than warmup_iters steps done
  // The rate the schedule settles at when warm-up ends, given the reductions
  // so far: lr x plateau scale ("linear"), or the current rate plus the
  // increments still to come ("additive"). After warm-up: the current rate.
  double post_warmup_lr() const;
  int64_t reductions() const { return reductions_; }

  nlohmann::json state() const;
  void restore(const nlohmann::json& state);

 private:
  double warm_lr(int64_t steps_done) const;
  Recipe recipe_;
  double base_lr_, scale_ = 1.0, current_ = 0;
  int64_t steps_ = 0, bad_epochs_ = 0, reductions_ = 0;
  double best_;
};

}  // namespace featreuse::train
