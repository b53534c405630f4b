#pragma once
// Re-initialisation robustness of a fine-tuned network (reference §7(b)):
// each module's state entries (parameters and buffers, BatchNorm running
// statistics included) reset to the initial checkpoint, the rest fine-tuned,
// evaluated on the test split. Modules are matched by exact module prefix
// (the reference's substring match also resets every mlp.fc1/fc2 of a
// transformer when it resets fc).
//
// Resetting a module changes nothing computed before it, so per test batch
// the trained network runs once, keeping the state entering each probe point
// (the `inputs` of Network::forward_traced, in a sweep other analyses may
// share), and each module's evaluation runs only the rest
// of the network from there (Network::forward_from); a module that is no
// probe point and lies under none runs the whole forward. The numbers are
// those of one whole test pass per module, to float rounding.
#include <memory>
#include <string>
#include <vector>

#include "featreuse/analysis/layerwise.hpp"
#include "featreuse/analysis/test_sweep.hpp"
#include "featreuse/data/dataset.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::analysis {

// The same, batch by batch from a sweep (test_sweep.hpp) in which `net`, with
// its trained weights, is network `index`. Each read resets and restores
// modules of `net` in turn (other readers of the sweep get their batch's
// tensors before that). `net` must outlive the reader.
class ReinitReader : public SweepReader {
 public:
  ReinitReader(models::Network& net, size_t index, const models::TensorList& initial,
               const models::TensorList& trained, const std::vector<std::string>& modules,
               const data::Dataset& dataset);
  ~ReinitReader() override;
  void declare(std::vector<models::TraceRequest>& requests) const override;
  void read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) override;
  std::vector<ProbeResult> finish();

 private:
  struct Plan;
  models::Network& net_;
  size_t index_;
  std::unique_ptr<Plan> plan_;
};

// One ProbeResult per module, in order (feature ""; metrics and loss of the
// test split). `net` is left with the trained weights. `test_subset`:
// positions of the test split to evaluate (empty: all).
std::vector<ProbeResult> reinit_robustness(models::Network& net, const models::TensorList& initial,
                                           const models::TensorList& trained, const data::Dataset& dataset,
                                           const std::vector<std::string>& modules, int64_t batch_size,
                                           const std::vector<int64_t>& test_subset = {});

}  // namespace featreuse::analysis
