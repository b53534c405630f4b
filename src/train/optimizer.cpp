#include "optimizer.hpp"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>
#include <vector>

namespace featreuse::train {

namespace {

c10::Device parameters_device(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    if (!group.params().empty()) return group.params().front().device();
  return c10::Device(c10::kCPU);
}

std::vector<torch::optim::OptimizerParamGroup> parameter_groups(models::Network& net) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& p : net.named_parameters(true)) {
    if (!p.value().requires_grad()) continue;
    const std::string& name = p.key();
    const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    (p.value().dim() > 1 && !is_bias ? decay : no_decay).push_back(p.value());
  }
  return {torch::optim::OptimizerParamGroup(decay), torch::optim::OptimizerParamGroup(no_decay)};
}

// Group 1 (biases and 1-d parameters) gets no weight decay.
template <typename Algorithm, typename Options>
std::unique_ptr<torch::optim::Optimizer> with_groups(models::Network& net, Options options) {
  auto optimizer = std::make_unique<Algorithm>(parameter_groups(net), options);
  static_cast<Options&>(optimizer->param_groups()[1].options()).weight_decay(0);
  return optimizer;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Optimizer kind, const Recipe& r, double lr,
                                                        models::Network& net) {
  switch (kind) {
    case Optimizer::adamw:
      return with_groups<torch::optim::AdamW>(net,
                                              torch::optim::AdamWOptions(lr).weight_decay(r.weight_decay));
    case Optimizer::sgd:
      return with_groups<torch::optim::SGD>(
          net, torch::optim::SGDOptions(lr).momentum(r.momentum).weight_decay(r.weight_decay));
    case Optimizer::adam:
    case Optimizer::automatic:
      break;
  }
  return with_groups<torch::optim::Adam>(net, torch::optim::AdamOptions(lr).weight_decay(r.weight_decay));
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

std::string optimizer_bytes(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

// The state goes where the parameters are: saved tensors otherwise load on the
// device they were saved from, which for a group member (it reads the leader's
// state) or a task resumed on another rank is another GPU, or the CPU.
void load_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream in(bytes);
  archive.load_from(in, parameters_device(optimizer));
  optimizer.load(archive);
}

}  // namespace featreuse::train
