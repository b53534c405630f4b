#pragma once
// The analyses as tasks of a study (docs/analyses.md): their names and
// options (for the job), the tables each writes with their rows fixed before
// it runs (for the store's schema), what one costs (for the plan), and
// running one on the stored checkpoints of its cell(s).
//
//   knn                 layer-wise k-NN of the best checkpoint, per probe and feature
//   reinit              re-initialisation robustness, per probe module
//   l2                  weight drift initial -> best, per probe module
//   cka                 CKA within the cell: init-init, trained-init, trained-trained
//   cka_cross           CKA of the cell's best against its ST partner's best
//   attention_distance  mean attention distance per block and head (ViTs)
#include <ATen/core/Tensor.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/data/dataset.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/store/result_table.hpp"

namespace featreuse::analysis {

struct AnalysisInfo {
  std::string name;
  nlohmann::json defaults;   // every option with its default
  std::string partner_init;  // cross-network: the init of the compared cell; "" otherwise
  bool needs_attention_maps = false;
};

const std::vector<AnalysisInfo>& analyses();
// Throws featreuse::Error naming an unknown analysis and listing the known ones.
const AnalysisInfo& analysis_info(const std::string& name);
// Throws featreuse::Error naming the option whose value is out of range.
void check_options(const std::string& name, const nlohmann::json& options);

// The analysis' cost in forward passes of one image through the network,
// from the dataset's split sizes (train, val, test) and the probe count: its
// own, and per test pass it shares with the cell's other analyses (a
// checkpoint's pass over the test images in given batches: "best 64 500")
// that pass's.
struct ForwardPasses {
  double own = 0;
  std::map<std::string, double> shared;
  double alone() const;  // own + every shared pass: the analysis run by itself
};
ForwardPasses forward_passes(const std::string& name, const nlohmann::json& options,
                             const std::array<int64_t, 3>& split_sizes, int64_t probes);

// The tables `name` writes for a cell of `net`'s architecture, keys only.
// `example` is one input batch of the cell's image shape (a forward on it
// tells the probes' shapes).
std::vector<store::ResultTable> plan_tables(const std::string& name, const nlohmann::json& options,
                                            models::Network& net, const at::Tensor& example);

// What an analysis reads: networks of the analysed cell's architecture (their
// weights are replaced by the checkpoints below, one checkpoint each) and
// the cell's stored checkpoints.
struct AnalysisInputs {
  models::Network* initial_net = nullptr;
  models::Network* best_net = nullptr;
  models::Network* partner_net = nullptr;  // cross-network analyses only
  models::TensorList initial, best;        // the analysed cell's checkpoints
  std::vector<int64_t> train_subset;       // the training images the cell saw (empty: the whole split)
  models::TensorList partner_best;         // cross-network: the partner cell's best checkpoint
  const data::Dataset* dataset = nullptr;
};

// The tables of plan_tables with their values.
std::vector<store::ResultTable> run_analysis(const std::string& name, const nlohmann::json& options,
                                             const AnalysisInputs& in);

// Several analyses of one cell at once. Those that read the test split with
// the same batch_size and test_images share its forward passes (one per
// checkpoint and batch, test_sweep.hpp); the numbers are those of each run
// alone. Each request gets its tables, or the error that stopped it.
struct AnalysisRequest {
  std::string name;
  nlohmann::json options;
};
struct AnalysisOutcome {
  std::vector<store::ResultTable> tables;
  std::string error;  // empty: done
};
std::vector<AnalysisOutcome> run_analyses(const std::vector<AnalysisRequest>& requests,
                                          const AnalysisInputs& in);

}  // namespace featreuse::analysis
