// InceptionV3: torchvision's names and counts, probes, block map, init,
// forward/backward at 224. Numerical parity is in tests/oracles.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "featreuse/core/error.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/models/weights.hpp"

using namespace featreuse::models;

namespace {

std::shared_ptr<Network> make_inception(int64_t classes = 1000, int64_t channels = 3,
                                        nlohmann::json options = nlohmann::json::object()) {
  ModelSpec spec;
  spec.arch = "inception_v3";
  spec.num_classes = classes;
  spec.in_channels = channels;
  spec.options = options;
  return registry().create(spec);
}

const std::string kConfigs = std::string(FEATREUSE_SOURCE_DIR) + "/configs";

}  // namespace

TEST(Inception, NamesAndCountsMatchTorchvision) {
  auto net = make_inception();
  std::map<std::string, std::vector<int64_t>> shapes;
  int64_t params = 0, backbone = 0;
  for (const auto& e : state_entries(*net)) {
    shapes[e.name] = e.tensor.sizes().vec();
    if (e.is_buffer) continue;
    params += e.tensor.numel();
    if (!under_module(e.name, "fc")) backbone += e.tensor.numel();
  }
  // torchvision inception_v3(aux_logits=False): 566 state_dict entries,
  // 21,785,568 parameters without fc.
  EXPECT_EQ(shapes.size(), 566u);
  EXPECT_EQ(backbone, 21785568);
  EXPECT_EQ(params, 21785568 + 2048 * 1000 + 1000);
  EXPECT_EQ(shapes.at("Conv2d_1a_3x3.conv.weight"), (std::vector<int64_t>{32, 3, 3, 3}));
  EXPECT_EQ(shapes.at("Conv2d_1a_3x3.bn.running_mean"), std::vector<int64_t>{32});
  EXPECT_EQ(shapes.at("Mixed_5b.branch_pool.conv.weight"), (std::vector<int64_t>{32, 192, 1, 1}));
  EXPECT_EQ(shapes.at("Mixed_6b.branch7x7_2.conv.weight"), (std::vector<int64_t>{128, 128, 1, 7}));
  EXPECT_EQ(shapes.at("Mixed_7c.branch3x3dbl_3b.conv.weight"), (std::vector<int64_t>{384, 384, 3, 1}));
  EXPECT_EQ(shapes.at("fc.weight"), (std::vector<int64_t>{1000, 2048}));
  EXPECT_EQ(shapes.count("AuxLogits.fc.weight"), 0u);
  EXPECT_EQ(net->first_conv_name(), "Conv2d_1a_3x3.conv");
}

TEST(Inception, InitIsThePapersOrTorchvisions) {
  // Default: the reference (torchvision 0.9.1 + a fresh default-init head).
  torch::manual_seed(1);
  auto net = make_inception();
  std::map<std::string, torch::Tensor> p;
  for (const auto& e : state_entries(*net)) p[e.name] = e.tensor;
  const auto w = p.at("Mixed_7b.branch3x3dbl_2.conv.weight");  // 384x448x3x3
  EXPECT_LE(w.abs().max().item<double>(), 0.2 + 1e-6);         // float(0.2)
  EXPECT_NEAR(w.std().item<double>(), 0.088, 0.002);           // truncnorm(-2,2) std
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.002);
  // The head: PyTorch's default Linear init, U(+-1/sqrt(fan_in)) for weight and bias.
  EXPECT_LE(p.at("fc.weight").abs().max().item<double>(), 1.0 / std::sqrt(2048.0) + 1e-7);
  EXPECT_NEAR(p.at("fc.weight").std().item<double>(), 1.0 / std::sqrt(2048.0) / std::sqrt(3.0), 1e-4);
  EXPECT_LE(p.at("fc.bias").abs().max().item<double>(), 1.0 / std::sqrt(2048.0));
  EXPECT_TRUE(p.at("Mixed_5b.branch1x1.bn.weight").eq(1).all().item<bool>());
  EXPECT_DOUBLE_EQ(p.at("Mixed_5b.branch1x1.bn.weight").sum().item<double>(), 64.0);

  // torchvision 0.14: absolute bounds (+-2), about 4.6% of draws lie past 2 std; fc too.
  auto tv = make_inception(1000, 3, {{"init", "torchvision"}});
  for (const auto& e : state_entries(*tv)) {
    if (e.name == "Mixed_7b.branch3x3dbl_2.conv.weight") {
      EXPECT_NEAR(e.tensor.std().item<double>(), 0.1, 0.002);
      EXPECT_GT(e.tensor.abs().max().item<double>(), 0.3);
    }
    if (e.name == "fc.weight") EXPECT_NEAR(e.tensor.std().item<double>(), 0.1, 0.002);
  }
}

TEST(Inception, ProbesBlockMapAndSmallVariant) {
  auto net = make_inception(5, 3, {{"width", 0.25}});
  const auto points = net->probe_points();
  ASSERT_EQ(points.size(), 17u);  // 5 Conv2d_* + 11 Mixed_* + fc (reference §7.0)
  EXPECT_EQ(points.front(), "Conv2d_1a_3x3");
  EXPECT_EQ(points[5], "Mixed_5b");
  EXPECT_EQ(points[15], "Mixed_7c");
  EXPECT_EQ(points.back(), "fc");

  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 75, 75});
  auto out = net->forward_probed(x, {"Conv2d_1a_3x3", "Mixed_6e", "fc"});
  EXPECT_EQ(out.probes.size(), 3u);
  EXPECT_EQ(out.probes.at("Conv2d_1a_3x3").sizes(), (c10::IntArrayRef{2, 8, 37, 37}));
  EXPECT_EQ(out.probes.at("Mixed_6e").size(0), 2);
  EXPECT_TRUE(out.probes.at("fc").equal(out.logits));
  EXPECT_TRUE(torch::allclose(out.logits, net->forward(x)));
  // Outputs of BasicConv2d and Mixed blocks are post-ReLU.
  EXPECT_GE(out.probes.at("Mixed_6e").min().item<double>(), 0.0);
  EXPECT_THROW(net->forward(torch::randn({1, 3, 64, 64})), featreuse::Error);
  EXPECT_THROW(net->forward_probed(x, {"Mixed_8a"}), featreuse::Error);

  const auto blocks = net->block_map();
  ASSERT_EQ(blocks.size(), 7u);
  EXPECT_EQ(blocks.front().index, -1);
  EXPECT_EQ(blocks.back().index, 5);
  for (const auto& e : state_entries(*net)) {
    int hits = 0;
    for (const auto& b : blocks)
      for (const auto& m : b.modules) hits += under_module(e.name, m);
    EXPECT_EQ(hits, under_module(e.name, "fc") ? 0 : 1) << e.name;
  }
}

TEST(Inception, OptionErrors) {
  EXPECT_THROW(make_inception(10, 3, {{"aux_logits", true}}), featreuse::Error);
  EXPECT_THROW(make_inception(10, 3, {{"width", 0}}), featreuse::Error);
  EXPECT_THROW(make_inception(10, 3, {{"init", "xavier"}}), featreuse::Error);
}

// Forward and backward at the native size, batch 2 (train mode: dropout on).
TEST(Inception, ForwardBackwardAtNativeSize) {
  for (const auto& name : {"inception_v3", "inception_small"}) {
    const auto cfg = resolve_model(name, kConfigs);
    auto net = build_model(cfg, 3, cfg.spec.image_size < 224 ? 1 : 3);
    net->train();
    const int64_t ch = cfg.spec.image_size < 224 ? 1 : 3;
    const auto y = net->forward(torch::randn({2, ch, cfg.spec.image_size, cfg.spec.image_size}));
    ASSERT_EQ(y.sizes(), (c10::IntArrayRef{2, 3}));
    y.square().mean().backward();
    for (const auto& e : state_entries(*net))
      if (!e.is_buffer) {
        ASSERT_TRUE(e.tensor.grad().defined()) << name << " " << e.name;
        EXPECT_TRUE(torch::isfinite(e.tensor.grad()).all().item<bool>()) << e.name;
      }
  }
}

// torchvision's ImageNet file carries AuxLogits.*: the import drops them, and
// still refuses any other key the network lacks.
TEST(Inception, ImportDropsTorchvisionsAuxiliaryHead) {
  auto source = make_inception(10);
  auto net = make_inception(10);
  TensorList weights;
  for (const auto& p : source->named_parameters()) weights.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : source->named_buffers()) weights.emplace_back(b.key(), b.value().clone());
  weights.emplace_back("AuxLogits.conv0.conv.weight", torch::randn({128, 768, 1, 1}));
  weights.emplace_back("AuxLogits.fc.weight", torch::randn({1000, 768}));
  load_weights(*net, weights, {true});
  EXPECT_TRUE(net->named_parameters()["Mixed_7c.branch1x1.conv.weight"].equal(
      source->named_parameters()["Mixed_7c.branch1x1.conv.weight"]));
  weights.emplace_back("Mixed_8a.conv.weight", torch::randn({1}));
  EXPECT_THROW(load_weights(*net, weights, {true}), featreuse::Error);
}
