#pragma once
// Shared fixtures for the init tests: networks from configs/models and
// source weights whose every tensor differs from its reset value, so that
// "copied", "reset" and "sampled" can be told apart by value.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "featreuse/models/model_config.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/models/weights.hpp"

namespace init_test {

using featreuse::models::Network;
using featreuse::models::TensorList;

inline std::shared_ptr<Network> make(const std::string& config, int64_t channels = 3, int64_t classes = 5) {
  const auto cfg = featreuse::models::resolve_model(config, std::string(FEATREUSE_SOURCE_DIR) + "/configs");
  return featreuse::models::build_model(cfg, classes, channels);
}

// A network's weights as a "source checkpoint": cloned, head included, every
// norm-layer tensor moved off its reset value (BN stats, LN affine).
inline TensorList source_weights(const std::string& config, uint64_t seed) {
  at::manual_seed(seed);
  auto net = make(config, 3, 7);
  TensorList out;
  at::NoGradGuard no_grad;
  for (auto& [name, t] : featreuse::models::network_weights(*net, /*with_head=*/true)) {
    at::Tensor v = t.clone();
    const auto dot = name.rfind('.');
    const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
    if (leaf == "num_batches_tracked") {
      v.fill_(7);
    } else if (v.is_floating_point() && v.numel() > 0 && (v == v.flatten()[0]).all().item<bool>()) {
      // Constant tensors (norm affine and running stats, zero biases): make them random.
      if (leaf == "weight" || leaf == "running_var")
        v.uniform_(0.5, 1.5);
      else
        v.normal_(0.0, 0.1);
    }
    out.emplace_back(name, v);
  }
  return out;
}

inline std::map<std::string, at::Tensor> by_name(const TensorList& list) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [k, t] : list) out[k] = t;
  return out;
}

inline std::map<std::string, at::Tensor> state_of(Network& net) {
  std::map<std::string, at::Tensor> out;
  for (const auto& e : featreuse::models::state_entries(net)) out[e.name] = e.tensor.detach().clone();
  return out;
}

inline bool same(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && at::equal(a, b);
}

// The value a norm-layer tensor is reset to.
inline at::Tensor reset_of(const std::string& name, const at::Tensor& like) {
  const auto dot = name.rfind('.');
  const std::string leaf = name.substr(dot + 1);
  return (leaf == "weight" || leaf == "running_var") ? at::ones_like(like) : at::zeros_like(like);
}

}  // namespace init_test
