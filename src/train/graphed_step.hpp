#pragma once
// The training step's forward and backward as CUDA graphs (the recipe's
// `cuda_graphs: true`): captured once per batch shape and then replayed, one
// launch instead of the hundreds of kernel launches a step makes, which is
// what small models on fast GPUs wait on. The optimiser, the group's gradient
// averaging and clipping stay eager, after the replay.
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <vector>

namespace featreuse::train {

// The step's forward: a training batch and its labels to the loss (a scalar).
using LossOf = std::function<at::Tensor(const at::Tensor& images, const at::Tensor& labels)>;

class GraphedStep {
 public:
  virtual ~GraphedStep() = default;
  // Zeroes the gradients of the parameters and runs forward and backward of
  // one batch, returning the loss on the device. The first `warmup_steps`
  // batches run eagerly (cuBLAS and cuDNN set themselves up outside any
  // capture); after them each new batch shape is captured once and replayed
  // from then on. The gradients stay the same tensors throughout (a replay
  // writes into them): callers must not set them to none.
  virtual at::Tensor forward_backward(const at::Tensor& images, const at::Tensor& labels) = 0;
};

// Throws featreuse::Error in a build without CUDA (the trainer only asks on a GPU).
std::unique_ptr<GraphedStep> make_graphed_step(LossOf loss_of, std::vector<at::Tensor> params,
                                               int warmup_steps);

}  // namespace featreuse::train
