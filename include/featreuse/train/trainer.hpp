#pragma once
// Trains one cell: the recipe's optimiser over the training split, validation
// at intervals with the best-validation checkpoint kept, then the test split
// evaluated with the best model. Everything a task writes to the store comes
// back in the result.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "featreuse/data/dataset.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/store/schema.hpp"
#include "featreuse/train/recipe.hpp"

namespace featreuse::train {

struct TrainInputs {
  std::string label;                   // the task's key, for log lines
  const nlohmann::json* recipe = nullptr;
  uint64_t seed = 0;                   // the cell seed
  const data::Dataset* dataset = nullptr;
  models::Network* net = nullptr;      // built and initialised
  dist::GradientReducer* reducer = nullptr;
  int shard_rank = 0, shard_count = 1;
  double progress_interval_s = 10.0;   // seconds between progress lines
};

struct TrainResult {
  store::CellOutputs outputs;
  store::CellRecord record;            // iterations, best_*, test metrics, images/s
};

// Throws featreuse::Error on bad input or divergence (a non-finite loss) and
// featreuse::Interrupted when a stop was requested (checked every step).
TrainResult train_cell(const TrainInputs& inputs);

// Evaluation of `net` on a split: logits, labels and mean loss.
struct Evaluation {
  std::vector<float> logits;           // n x c
  std::vector<int64_t> labels;         // single-label
  std::vector<float> targets;          // multi-label n x c
  double loss = 0;
  int64_t n = 0, num_classes = 0;
  std::map<std::string, double> metrics() const;
};
Evaluation evaluate(models::Network& net, const data::Dataset& dataset, data::Split split, int64_t batch_size);

}  // namespace featreuse::train
