#pragma once
// A network on a dataset split in eval mode: logits, labels, mean loss and
// the classification metrics; and the loss training minimises.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "featreuse/data/dataset.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::train {

struct Evaluation {
  std::vector<float> logits;    // n x c
  std::vector<int64_t> labels;  // single-label
  std::vector<float> targets;   // multi-label n x c
  double loss = 0;
  int64_t n = 0, num_classes = 0;
  std::map<std::string, double> metrics() const;
};

// An Evaluation built batch by batch from logits the caller computed (the
// re-initialisation analysis runs part of a network), with evaluate's loss.
class EvaluationBuilder {
 public:
  EvaluationBuilder(int64_t num_classes, bool multi_label);
  void add(const at::Tensor& logits, const at::Tensor& labels);
  Evaluation finish();

 private:
  Evaluation out_;
  bool multi_;
  double loss_sum_ = 0;
};

// Where the network's parameters are (the CPU when it has none): batches
// follow the network there.
c10::Device network_device(models::Network& net);

// Leaves the network in train mode. `subset`: positions of the split to
// evaluate (empty: all).
Evaluation evaluate(models::Network& net, const data::Dataset& dataset, data::Split split, int64_t batch_size,
                    const std::vector<int64_t>& subset = {});

// The whole split evaluated by a data-parallel group: rank `rank` of
// `group` takes every size-th image from its rank on, and the pieces are
// summed over the group, so every rank returns the whole evaluation, in the
// split's order.
Evaluation evaluate_in_group(models::Network& net, const data::Dataset& dataset, data::Split split,
                             int64_t batch_size, dist::GradientReducer& group, int rank);

bool is_multi_label(const data::Dataset& dataset);
// Cross-entropy, or binary cross-entropy on logits for multi-label sets.
at::Tensor loss_of(const at::Tensor& logits, const at::Tensor& labels, bool multi_label);

}  // namespace featreuse::train
