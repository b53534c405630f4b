#pragma once
// How far fine-tuning moved each probe module's weights (reference §7(c)):
// for every parameter under the module (exact module prefix) that is not
// part of a norm layer, ||W_init - W_trained||_F; the module's value is the
// mean over its tensors of that norm divided by the tensor's element count
// (the paper's "mean l2 distance" as its code intends: the released code
// computes one number over the whole state dict, a bug), plus the raw
// Frobenius norm of the module's whole change.
#include <limits>
#include <string>
#include <vector>

#include "featreuse/models/network.hpp"

namespace featreuse::analysis {

struct Drift {
  double mean_scaled = std::numeric_limits<double>::quiet_NaN();  // mean of ||dW||_F / numel(W)
  double frobenius = std::numeric_limits<double>::quiet_NaN();    // ||dW||_F over the module's tensors
  int64_t tensors = 0;                                            // tensors counted
};

// One Drift per module path, in order. `initial` and `trained` are the two
// checkpoints (state_dict names); `net` tells which tensors are parameters
// and which belong to norm layers (its head is measured like any module).
std::vector<Drift> weight_drift(models::Network& net, const models::TensorList& initial,
                                const models::TensorList& trained, const std::vector<std::string>& modules);

}  // namespace featreuse::analysis
