// ST sampling (reference §2.1): tensor kinds per family, what is sampled /
// reset / copied, sample statistics, determinism, the embeddings option, the
// one-element edge case and bad sources.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/init/st.hpp"
#include "featreuse/init/wtst.hpp"
#include "helpers.hpp"

using namespace featreuse;
using namespace featreuse::init;
using namespace init_test;

namespace {

std::map<std::string, TensorKind> kinds_of(Network& net) {
  std::map<std::string, TensorKind> out;
  for (const auto& k : tensor_kinds(net)) out[k.name] = k.kind;
  return out;
}

// Mean and unbiased std of the draw within 5 standard errors of the source's.
void expect_same_stats(const std::string& name, const at::Tensor& draw, const at::Tensor& src) {
  const double n = static_cast<double>(src.numel());
  const double m = src.mean().item<double>(), s = src.std().item<double>();
  EXPECT_NEAR(draw.mean().item<double>(), m, 5 * s / std::sqrt(n) + 1e-7) << name;
  EXPECT_NEAR(draw.std().item<double>(), s, 5 * s / std::sqrt(2 * n) + 1e-7) << name;
}

// Checks every entry of an ST state against its source by role.
void check_st_state(Network& net, const TensorList& source, const TensorList& st, const StOptions& options) {
  const auto src = by_name(source);
  const auto kinds = tensor_kinds(net);
  ASSERT_EQ(st.size(), kinds.size());
  size_t sampled = 0;
  for (size_t i = 0; i < st.size(); ++i) {
    const auto& [name, value] = st[i];
    ASSERT_EQ(name, kinds[i].name);
    const at::Tensor& s = src.at(name);
    ASSERT_EQ(value.sizes(), s.sizes()) << name;
    EXPECT_NE(value.data_ptr(), s.data_ptr()) << name << " shares storage with the source";
    switch (st_role(kinds[i].kind, options)) {
      case StRole::copied:
        EXPECT_TRUE(same(value, s)) << name;
        break;
      case StRole::reset:
        EXPECT_TRUE(same(value, reset_of(name, s))) << name;
        break;
      case StRole::sampled:
        ++sampled;
        EXPECT_FALSE(at::equal(value, s)) << name;
        if (s.numel() >= 256) expect_same_stats(name, value, s);
        break;
    }
  }
  EXPECT_GT(sampled, 0u);
}

}  // namespace

TEST(InitSt, TensorKindsPerFamily) {
  auto resnet = make("resnet_small");
  auto k = kinds_of(*resnet);
  EXPECT_EQ(k.at("conv1.weight"), TensorKind::conv_linear);
  EXPECT_EQ(k.at("bn1.weight"), TensorKind::batch_norm);
  EXPECT_EQ(k.at("bn1.num_batches_tracked"), TensorKind::batch_norm);
  EXPECT_EQ(k.at("layer2.0.downsample.0.weight"), TensorKind::conv_linear);
  EXPECT_EQ(k.at("layer2.0.downsample.1.running_var"), TensorKind::batch_norm);
  EXPECT_FALSE(k.count("fc.weight"));  // the head is never part of an init

  auto inception = make("inception_small");
  k = kinds_of(*inception);
  EXPECT_EQ(k.at("Conv2d_1a_3x3.conv.weight"), TensorKind::conv_linear);
  EXPECT_EQ(k.at("Mixed_7c.branch_pool.bn.running_mean"), TensorKind::batch_norm);

  auto deit = make("deit_micro");
  k = kinds_of(*deit);
  EXPECT_EQ(k.at("cls_token"), TensorKind::embedding);
  EXPECT_EQ(k.at("pos_embed"), TensorKind::embedding);
  EXPECT_EQ(k.at("patch_embed.proj.bias"), TensorKind::conv_linear);
  EXPECT_EQ(k.at("blocks.0.attn.qkv.bias"), TensorKind::conv_linear);
  EXPECT_EQ(k.at("blocks.3.norm2.weight"), TensorKind::layer_norm);
  EXPECT_EQ(k.at("norm.bias"), TensorKind::layer_norm);
  EXPECT_FALSE(k.count("head.weight"));

  auto swin = make("swin_micro");
  k = kinds_of(*swin);
  EXPECT_EQ(k.at("layers.0.blocks.0.attn.relative_position_bias_table"), TensorKind::embedding);
  EXPECT_EQ(k.at("layers.0.blocks.0.attn.relative_position_index"), TensorKind::other);
  EXPECT_EQ(k.at("layers.0.blocks.1.attn_mask"), TensorKind::other);
  EXPECT_EQ(k.at("patch_embed.norm.weight"), TensorKind::layer_norm);
  EXPECT_EQ(k.at("layers.0.downsample.reduction.weight"), TensorKind::conv_linear);
  EXPECT_EQ(k.at("layers.0.downsample.norm.weight"), TensorKind::layer_norm);
}

TEST(InitSt, SampledResetCopiedPerFamily) {
  for (const std::string config : {"resnet_small", "inception_small", "deit_micro", "swin_micro"}) {
    SCOPED_TRACE(config);
    auto net = make(config);
    const auto source = source_weights(config, 11);
    check_st_state(*net, source, sample_st(*net, source, 42), {});
    // The paper's reading: embeddings sampled too (only DeiT/Swin have any).
    check_st_state(*net, source, sample_st(*net, source, 42, {true}), {true});
  }
}

TEST(InitSt, SameSeedSameDrawAcrossChannelsAndHeads) {
  for (const std::string config : {"resnet_small", "swin_micro"}) {
    SCOPED_TRACE(config);
    const auto source = source_weights(config, 3);
    auto rgb = make(config, 3, 5);
    auto gray = make(config, 1, 14);  // another dataset: 1 channel, other head
    at::manual_seed(999);             // the global RNG plays no part
    const auto a = sample_st(*rgb, source, 1234);
    at::manual_seed(5);
    const auto b = sample_st(*gray, source, 1234);
    const auto c = sample_st(*rgb, source, 1235);
    ASSERT_EQ(a.size(), b.size());
    const auto kinds = tensor_kinds(*rgb);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(same(a[i].second, b[i].second)) << a[i].first;
      if (st_role(kinds[i].kind, {}) == StRole::sampled) {
        EXPECT_FALSE(at::equal(a[i].second, c[i].second)) << a[i].first;
      } else {
        EXPECT_TRUE(same(a[i].second, c[i].second)) << a[i].first;
      }
    }
    // The first conv keeps the source's 3 channels: WT-ST slices after sampling.
    const std::string first = rgb->first_conv_name() + ".weight";
    EXPECT_EQ(by_name(b).at(first).size(1), 3);
  }
}

TEST(InitSt, EmbeddingOptionLeavesOtherDrawsUnchanged) {
  auto net = make("deit_micro");
  const auto source = source_weights("deit_micro", 5);
  const auto off = by_name(sample_st(*net, source, 77));
  const auto on = by_name(sample_st(*net, source, 77, {true}));
  const auto src = by_name(source);
  for (const auto& k : tensor_kinds(*net)) {
    if (k.kind == TensorKind::embedding) {
      EXPECT_TRUE(same(off.at(k.name), src.at(k.name))) << k.name;  // the code: copied
      EXPECT_FALSE(at::equal(on.at(k.name), src.at(k.name))) << k.name;
    } else {
      EXPECT_TRUE(same(off.at(k.name), on.at(k.name))) << k.name;
    }
  }
}

namespace {

// A network with a one-element Linear bias, and a block map that can leave a
// LayerNorm out (a block-map bug).
class Tiny : public Network {
 public:
  explicit Tiny(bool orphan) : orphan_(orphan) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
    lin = register_module("lin", torch::nn::Linear(4, 1));
    ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));
    fc = register_module("fc", torch::nn::Linear(1, 2));
  }
  at::Tensor forward(const at::Tensor& x) override { return x; }
  std::string first_conv_name() const override { return "conv"; }
  std::vector<models::InitBlock> block_map() const override {
    if (orphan_) return {{-1, {"conv"}}, {0, {"lin"}}};
    return {{-1, {"conv"}}, {0, {"lin"}}, {1, {"ln"}}};
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear lin{nullptr}, fc{nullptr};
  torch::nn::LayerNorm ln{nullptr};

 private:
  bool orphan_;
};

TensorList tiny_source(Tiny& net) {
  TensorList out;
  for (auto& [k, t] : models::network_weights(net, true)) out.emplace_back(k, t.clone());
  return out;
}

}  // namespace

TEST(InitSt, OneElementTensorKeepsItsValue) {
  auto tiny = std::make_shared<Tiny>(false);
  Tiny& net = *tiny;
  const auto source = tiny_source(net);
  const auto st = by_name(sample_st(net, source, 1));
  const at::Tensor bias = by_name(source).at("lin.bias");
  ASSERT_EQ(bias.numel(), 1);
  // torch's unbiased std of one element is NaN; we draw with std 0.
  EXPECT_TRUE(same(st.at("lin.bias"), bias));
  EXPECT_TRUE(std::isfinite(st.at("lin.weight").sum().item<double>()));
  EXPECT_TRUE(same(st.at("ln.weight"), at::ones({4})));
}

TEST(InitSt, BadSourcesAreErrorsNamingTheTensor) {
  auto tiny = std::make_shared<Tiny>(false);
  Tiny& net = *tiny;
  auto source = tiny_source(net);
  auto expect_error = [&](const TensorList& s, const std::string& needle) {
    try {
      sample_st(net, s, 1);
      ADD_FAILURE() << "no error, expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto nan = source;
  nan[0].second = nan[0].second.clone();
  nan[0].second.view(-1)[0] = NAN;
  expect_error(nan, "'conv.weight' has a non-finite mean");
  auto missing = source;
  missing.erase(missing.begin() + 2);  // lin.weight
  expect_error(missing, "1 missing: lin.weight");
  auto extra = source;
  extra.emplace_back("other.weight", at::zeros({2}));
  expect_error(extra, "unexpected: other.weight");
  auto wrong = source;
  wrong[2].second = at::zeros({3, 4});
  expect_error(wrong, "lin.weight (weights [3, 4], model [1, 4])");
  // DataParallel checkpoints load as they are.
  auto prefixed = source;
  for (auto& kv : prefixed) kv.first = "module." + kv.first;
  EXPECT_EQ(sample_st(net, prefixed, 1).size(), 6u);
}

TEST(InitSt, BlockMapBugsAreReported) {
  auto tiny = std::make_shared<Tiny>(true);
  try {
    wtst_plan(*tiny, 0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("in no block: ln.weight ln.bias"), std::string::npos) << e.what();
  }
}
