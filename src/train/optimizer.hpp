#pragma once
// The recipe's optimiser over a network, with the reference's parameter
// groups, and its state as bytes for the resumable training state.
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>

#include "featreuse/models/network.hpp"
#include "featreuse/train/recipe.hpp"

namespace featreuse::train {

// Weight decay only on parameters with more than one dimension that are not
// biases (the reference's groups); `kind` is never Optimizer::automatic.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(Optimizer kind, const Recipe& recipe, double lr,
                                                        models::Network& net);
void set_lr(torch::optim::Optimizer& optimizer, double lr);

std::string optimizer_bytes(torch::optim::Optimizer& optimizer);
void load_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes);

}  // namespace featreuse::train
