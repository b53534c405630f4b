#pragma once
// Fixtures shared by the model tests.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "featreuse/core/json.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/registry.hpp"

namespace model_test {

using featreuse::models::Network;

// A registered architecture with the given options and shape.
inline std::shared_ptr<Network> make(const std::string& arch, nlohmann::json options = {},
                                     int64_t classes = 1000, int64_t channels = 3, int64_t image_size = 224) {
  featreuse::models::ModelSpec spec;
  spec.arch = arch;
  spec.num_classes = classes;
  spec.in_channels = channels;
  spec.image_size = image_size;
  if (!options.is_null()) spec.options = options;
  return featreuse::models::registry().create(spec);
}

// Parameters (not buffers), with or without the classifier head.
inline int64_t count(Network& net, bool with_head) {
  int64_t n = 0;
  for (const auto& e : featreuse::models::state_entries(net))
    if (!e.is_buffer && (with_head || !featreuse::models::under_module(e.name, net.head_name())))
      n += e.tensor.numel();
  return n;
}

// Forward and backward of model config `name` at its native size (4 classes,
// 3 channels): the logits have the right shape and every parameter gets a
// finite gradient. Batch 2; 1 for the "base" models to keep CPU tests short.
inline void expect_forward_backward(const std::string& name, const std::string& configs) {
  at::set_num_threads(2);
  auto cfg = featreuse::models::resolve_model(name, configs);
  auto net = featreuse::models::build_model(cfg, 4, 3);
  net->train();
  const int64_t batch = name.find("base") != std::string::npos ? 1 : 2;
  const int64_t side = cfg.spec.image_size;
  auto y = net->forward(at::randn({batch, 3, side, side}));
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{batch, 4}));
  y.square().sum().backward();
  for (const auto& e : featreuse::models::state_entries(*net))
    if (!e.is_buffer) {
      ASSERT_TRUE(e.tensor.grad().defined()) << e.name;
      EXPECT_TRUE(at::isfinite(e.tensor.grad()).all().item<bool>()) << e.name;
    }
}

}  // namespace model_test
