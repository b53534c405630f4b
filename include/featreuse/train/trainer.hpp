#pragma once
// Trains one cell: the recipe's optimiser over the training split, validation
// at intervals with the best-validation checkpoint kept, then the test split
// evaluated with the best model. Everything a task writes to the store comes
// back in the result.
#include <functional>
#include <string>

#include "featreuse/data/dataset.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/models/family.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/store/schema.hpp"
#include "featreuse/train/evaluate.hpp"
#include "featreuse/train/recipe.hpp"
#include "featreuse/train/resume.hpp"

namespace featreuse::train {

struct TrainInputs {
  std::string label;  // the task's key, for log lines
  Recipe recipe;
  uint64_t seed = 0;                               // the cell seed
  models::Family family = models::Family::resnet;  // picks `optimizer: auto`
  bool random_init = false;                        // RI cells train at the recipe's lr_ri
  ResumeSlot* resume = nullptr;  // where the training state is saved and resumed from; none: not saved
  // Asked before every step; true stops the task like a pre-emption signal
  // does (state saved, Interrupted thrown). Default: a stop was requested.
  std::function<bool()> should_stop;
  int shard_rank = 0, shard_count = 1;
  double progress_interval_s = 10.0;  // seconds between progress lines
  // Called after every step with the steps done and planned and the epoch
  // (1-based) of the recipe's epochs, for `status`; must be cheap. Optional.
  std::function<void(int64_t step, int64_t total_steps, int64_t epoch, int64_t epochs)> on_step;
};

struct TrainResult {
  store::CellOutputs outputs;
  store::CellRecord record;  // iterations, best_*, test metrics, images/s
};

// Trains `net` (built and initialised) on `dataset`, averaging gradients
// over `reducer`'s group. Throws featreuse::Error on bad input or divergence
// (a non-finite loss) and featreuse::Interrupted when a stop was requested
// (checked every step; the state is saved to `resume` first). With a saved
// state in `resume`, training continues from it exactly (same steps, same
// data order, same randomness).
// The positions of the training split a cell trains on: the same images for
// every epoch, drawn by the cell seed after the recipe's train_size or
// train_fraction (empty: the whole split).
std::vector<int64_t> training_subset(const data::Dataset& dataset, const Recipe& recipe, uint64_t seed);

TrainResult train_cell(const TrainInputs& inputs, const data::Dataset& dataset, models::Network& net,
                       dist::GradientReducer& reducer);

}  // namespace featreuse::train
