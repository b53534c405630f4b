// ResNet: torchvision's names and parameter counts, probes, block map, options,
// forward/backward at native size. Numerical parity with torchvision is
// checked by tests/oracles (it needs Python).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "featreuse/core/error.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/registry.hpp"
#include "model_helpers.hpp"

using namespace featreuse::models;
using model_test::count;
using model_test::make;

namespace {

const std::string kConfigs = std::string(FEATREUSE_SOURCE_DIR) + "/configs";

}  // namespace

TEST(ResNet, ParameterCountsMatchTorchvision) {
  // torchvision's documented parameter counts (num_classes=1000).
  const std::map<std::string, int64_t> expected = {{"resnet18", 11689512},
                                                   {"resnet34", 21797672},
                                                   {"resnet50", 25557032},
                                                   {"resnet101", 44549160},
                                                   {"resnet152", 60192808}};
  for (const auto& [name, params] : expected) {
    auto net = make(name);
    EXPECT_EQ(count(*net, true), params) << name;
  }
  auto r50 = make("resnet50");
  EXPECT_EQ(count(*r50, false), 25557032 - 2048 * 1000 - 1000);
}

TEST(ResNet, StateDictNamesFollowTorchvision) {
  auto net = make("resnet50");
  std::map<std::string, std::vector<int64_t>> shapes;
  std::vector<std::string> order;
  for (const auto& e : state_entries(*net)) {
    shapes[e.name] = e.tensor.sizes().vec();
    order.push_back(e.name);
  }
  EXPECT_EQ(order.front(), "conv1.weight");
  EXPECT_EQ(order.back(), "fc.bias");
  EXPECT_EQ(shapes.at("conv1.weight"), (std::vector<int64_t>{64, 3, 7, 7}));
  EXPECT_EQ(shapes.at("bn1.num_batches_tracked"), std::vector<int64_t>{});
  EXPECT_EQ(shapes.at("layer1.0.downsample.0.weight"), (std::vector<int64_t>{256, 64, 1, 1}));
  EXPECT_EQ(shapes.at("layer1.0.downsample.1.running_var"), std::vector<int64_t>{256});
  EXPECT_EQ(shapes.at("layer2.0.conv2.weight"), (std::vector<int64_t>{128, 128, 3, 3}));
  EXPECT_EQ(shapes.at("layer4.2.bn3.weight"), std::vector<int64_t>{2048});
  EXPECT_EQ(shapes.at("fc.weight"), (std::vector<int64_t>{1000, 2048}));
  EXPECT_EQ(shapes.count("layer1.1.downsample.0.weight"), 0u);
  // 320 entries in torchvision's resnet50 state_dict (params + BN buffers).
  EXPECT_EQ(order.size(), 320u);

  auto r18 = make("resnet18");
  std::set<std::string> names;
  for (const auto& e : state_entries(*r18)) names.insert(e.name);
  EXPECT_TRUE(names.count("layer2.0.downsample.0.weight"));
  EXPECT_FALSE(names.count("layer1.0.downsample.0.weight"));
  EXPECT_FALSE(names.count("layer1.0.conv3.weight"));
  EXPECT_EQ(names.size(), 122u);
}

TEST(ResNet, InitMatchesTorchvisionDefaults) {
  torch::manual_seed(0);
  auto net = make("resnet50");
  std::map<std::string, torch::Tensor> p;
  for (const auto& e : state_entries(*net)) p[e.name] = e.tensor;
  // kaiming_normal fan_out relu: std = sqrt(2 / (out * k * k)).
  const auto w = p.at("layer3.0.conv2.weight");  // 256x256x3x3
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / (256 * 9)), 0.002);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.002);
  EXPECT_TRUE(p.at("layer3.0.bn2.weight").eq(1).all().item<bool>());
  EXPECT_TRUE(p.at("layer3.0.bn2.bias").eq(0).all().item<bool>());
  // nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
  const double bound = 1.0 / std::sqrt(2048.0);
  EXPECT_LE(p.at("fc.weight").abs().max().item<double>(), bound);
  EXPECT_GT(p.at("fc.weight").abs().max().item<double>(), 0.9 * bound);
  EXPECT_LE(p.at("fc.bias").abs().max().item<double>(), bound);
}

TEST(ResNet, ProbesAndBlockMap) {
  auto net = make("resnet50");
  const auto points = net->probe_points();
  ASSERT_EQ(points.size(), 18u);  // conv1 + 16 bottlenecks + fc (reference §7.0)
  EXPECT_EQ(points[0], "conv1");
  EXPECT_EQ(points[1], "layer1.0");
  EXPECT_EQ(points[16], "layer4.2");
  EXPECT_EQ(points[17], "fc");

  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  const auto out = net->forward_probed(x, {"conv1", "layer2.3", "fc"});
  ASSERT_EQ(out.probes.size(), 3u);
  EXPECT_EQ(out.probes.at("conv1").sizes(), (c10::IntArrayRef{2, 64, 32, 32}));
  EXPECT_EQ(out.probes.at("layer2.3").sizes(), (c10::IntArrayRef{2, 512, 8, 8}));
  EXPECT_TRUE(out.probes.at("fc").equal(out.logits));
  EXPECT_TRUE(torch::allclose(out.logits, net->forward(x)));
  // conv1's probe is pre-BN: it equals the plain convolution of the input.
  auto* conv1 = net->named_modules()["conv1"]->as<torch::nn::Conv2d>();
  ASSERT_NE(conv1, nullptr);
  EXPECT_TRUE(torch::allclose(out.probes.at("conv1"), conv1->forward(x)));
  EXPECT_THROW(net->forward_probed(x, {"layer5.0"}), featreuse::Error);

  const auto blocks = net->block_map();
  ASSERT_EQ(blocks.size(), 6u);
  EXPECT_EQ(blocks[0].index, -1);
  EXPECT_EQ(blocks[0].modules, std::vector<std::string>{"conv1"});
  EXPECT_EQ(blocks[1].index, 0);
  EXPECT_EQ(blocks[1].modules, std::vector<std::string>{"bn1"});
  EXPECT_EQ(blocks[5].index, 4);
  EXPECT_EQ(blocks[5].modules, std::vector<std::string>{"layer4"});
  // Every parameter except the head lies in exactly one block.
  for (const auto& e : state_entries(*net)) {
    int hits = 0;
    for (const auto& b : blocks)
      for (const auto& m : b.modules) hits += under_module(e.name, m);
    EXPECT_EQ(hits, under_module(e.name, "fc") ? 0 : 1) << e.name;
  }
}

TEST(ResNet, UnderModuleRespectsDots) {
  EXPECT_TRUE(under_module("layer1.0.conv1.weight", "layer1"));
  EXPECT_TRUE(under_module("layer1", "layer1"));
  EXPECT_FALSE(under_module("layer10.weight", "layer1"));
  EXPECT_FALSE(under_module("layer", "layer1"));
}

TEST(ResNet, ConfigurableArchAndOptionErrors) {
  auto net =
      make("resnet",
           {{"block", "basic"}, {"layers", {1, 1, 1, 1}}, {"widths", {16, 32, 64, 128}}, {"stem", "small"}},
           10, 1);
  const auto y = net->forward(torch::randn({2, 1, 28, 28}));
  EXPECT_EQ(y.sizes(), (c10::IntArrayRef{2, 10}));
  // Small stem keeps 28x28 at conv1 (3x3/1), and layer4 sees 4x4.
  auto probes = net->forward_probed(torch::randn({2, 1, 28, 28}), {"conv1", "layer4.0"}).probes;
  EXPECT_EQ(probes.at("conv1").sizes(), (c10::IntArrayRef{2, 16, 28, 28}));
  EXPECT_EQ(probes.at("layer4.0").sizes(), (c10::IntArrayRef{2, 128, 4, 4}));

  try {
    make("resnet", {{"blocks", "basic"}});
    FAIL() << "an unknown option must be rejected";
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'blocks'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make("resnet", {{"block", "wide"}}), featreuse::Error);
  EXPECT_THROW(make("resnet", {{"layers", {1, 1}}}), featreuse::Error);  // widths has 4
  EXPECT_THROW(make("resnet18", {}, 10, 2), featreuse::Error);
}

TEST(ResNet, ModelConfigsLoadAndBuild) {
  for (const auto& name : {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}) {
    const auto cfg = resolve_model(name, kConfigs);
    EXPECT_EQ(cfg.spec.arch, name);
    EXPECT_EQ(cfg.spec.image_size, 224);
    EXPECT_GT(cfg.gflops, 1.0);
  }
  const auto small = resolve_model("resnet_small", kConfigs);
  EXPECT_EQ(small.spec.arch, "resnet");
  EXPECT_EQ(small.spec.image_size, 28);
  auto net = build_model(small, 10, 1);
  EXPECT_EQ(net->forward(torch::randn({1, 1, 28, 28})).sizes(), (c10::IntArrayRef{1, 10}));
  EXPECT_THROW(resolve_model("no_such_model", kConfigs), featreuse::Error);
}

// Forward and backward at the native size, batch 2, for every ResNet config.
TEST(ResNet, ForwardBackwardAtNativeSize) {
  for (const auto& name : {"resnet_small", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}) {
    const auto cfg = resolve_model(name, kConfigs);
    for (int64_t channels : {int64_t{3}, int64_t{1}}) {
      if (channels == 1 && cfg.spec.image_size > 64) continue;  // the 1-channel path once is enough
      auto net = build_model(cfg, 7, channels);
      net->train();
      const auto x = torch::randn({2, channels, cfg.spec.image_size, cfg.spec.image_size});
      const auto y = net->forward(x);
      ASSERT_EQ(y.sizes(), (c10::IntArrayRef{2, 7})) << name;
      y.square().mean().backward();
      for (const auto& e : state_entries(*net)) {
        if (e.is_buffer) continue;
        ASSERT_TRUE(e.tensor.grad().defined()) << name << " " << e.name;
        EXPECT_TRUE(torch::isfinite(e.tensor.grad()).all().item<bool>()) << name << " " << e.name;
      }
    }
  }
}
