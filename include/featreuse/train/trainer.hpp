#pragma once
// Trains one cell: the recipe's optimiser over the training split, validation
// at intervals with the best-validation checkpoint kept, then the test split
// evaluated with the best model. Everything a task writes to the store comes
// back in the result.
#include <functional>
#include "featreuse/core/json.hpp"
#include <string>

#include "featreuse/data/dataset.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/store/schema.hpp"
#include "featreuse/train/recipe.hpp"
#include "featreuse/train/resume.hpp"

namespace featreuse::train {

struct TrainInputs {
  std::string label;                   // the task's key, for log lines
  const nlohmann::json* recipe = nullptr;
  uint64_t seed = 0;                   // the cell seed
  std::string family;                  // model family ("resnet", "deit", ...): picks `optimizer: auto`
  std::string init_scheme;             // "ri" uses the recipe's lr_ri
  ResumeSlot* resume = nullptr;        // where the training state is saved and resumed from (optional)
  // Asked before every step; true stops the task like a pre-emption signal
  // does (state saved, Interrupted thrown). Default: a stop was requested.
  std::function<bool()> should_stop;
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
// featreuse::Interrupted when a stop was requested (checked every step; the
// state is saved to `resume` first). With a saved state in `resume`, training
// continues from it exactly (same steps, same data order, same randomness).
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
