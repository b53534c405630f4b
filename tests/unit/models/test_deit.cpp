// DeiT: timm's names, shapes and parameter counts, probes, attention maps,
// block map, options, init statistics, pos_embed resampling, forward/backward.
// Numerical parity with timm is tests/oracles/timm_parity.py (needs timm).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/models/deit.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/probe_pooling.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/models/vit_layers.hpp"
#include "model_helpers.hpp"

using namespace featreuse::models;
using model_test::count;
using model_test::make;

namespace {

std::map<std::string, std::vector<int64_t>> shapes(Network& net) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& e : state_entries(net)) out[e.name] = e.tensor.sizes().vec();
  return out;
}

DeiTConfig micro() {
  DeiTConfig c;
  c.img_size = 32;
  c.patch_size = 8;
  c.embed_dim = 32;
  c.depth = 2;
  c.num_heads = 4;
  return c;
}

const std::string kConfigs = std::string(FEATREUSE_SOURCE_DIR) + "/configs";

}  // namespace

TEST(DeiT, ParameterCountsMatchTimm) {
  // timm v0.9.16 create_model(name) (1000 classes): total and without head.
  const std::map<std::string, std::pair<int64_t, int64_t>> expected = {
      {"deit_tiny_patch16_224", {5717416, 5524416}},
      {"deit_small_patch16_224", {22050664, 21665664}},
      {"deit_base_patch16_224", {86567656, 85798656}}};
  for (const auto& [name, counts] : expected) {
    auto net = make(name);
    EXPECT_EQ(count(*net, true), counts.first) << name;
    EXPECT_EQ(count(*net, false), counts.second) << name;
    EXPECT_EQ(state_entries(*net).size(), 152u) << name;  // timm's state_dict length
  }
}

TEST(DeiT, StateDictNamesAndShapesFollowTimm) {
  auto net = make("deit_small_patch16_224", {}, 7);
  const auto s = shapes(*net);
  const std::map<std::string, std::vector<int64_t>> expected = {{"cls_token", {1, 1, 384}},
                                                                {"pos_embed", {1, 197, 384}},
                                                                {"patch_embed.proj.weight", {384, 3, 16, 16}},
                                                                {"patch_embed.proj.bias", {384}},
                                                                {"blocks.0.norm1.weight", {384}},
                                                                {"blocks.0.norm1.bias", {384}},
                                                                {"blocks.0.attn.qkv.weight", {1152, 384}},
                                                                {"blocks.0.attn.qkv.bias", {1152}},
                                                                {"blocks.0.attn.proj.weight", {384, 384}},
                                                                {"blocks.0.attn.proj.bias", {384}},
                                                                {"blocks.11.norm2.weight", {384}},
                                                                {"blocks.11.mlp.fc1.weight", {1536, 384}},
                                                                {"blocks.11.mlp.fc1.bias", {1536}},
                                                                {"blocks.11.mlp.fc2.weight", {384, 1536}},
                                                                {"blocks.11.mlp.fc2.bias", {384}},
                                                                {"norm.weight", {384}},
                                                                {"norm.bias", {384}},
                                                                {"head.weight", {7, 384}},
                                                                {"head.bias", {7}}};
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(s.count(name)) << name;
    EXPECT_EQ(s.at(name), shape) << name;
  }
  EXPECT_FALSE(s.count("blocks.12.norm1.weight"));
  for (const auto& e : state_entries(*net)) EXPECT_FALSE(e.is_buffer) << e.name;
  EXPECT_EQ(net->head_name(), "head");
  EXPECT_EQ(net->first_conv_name(), "patch_embed.proj");
}

TEST(DeiT, TruncatedDepthKeepsFinalNorm) {
  auto net = make("deit_small_patch16_224", {{"depth", 5}});
  const auto s = shapes(*net);
  EXPECT_TRUE(s.count("blocks.4.mlp.fc2.weight"));
  EXPECT_FALSE(s.count("blocks.5.norm1.weight"));
  EXPECT_TRUE(s.count("norm.weight"));
  EXPECT_EQ(net->probe_points().size(), 1u + 2u * 5u + 1u);
  const auto map = net->block_map();
  ASSERT_EQ(map.size(), 7u);
  EXPECT_EQ(map.back().index, 5);  // final norm WT only for t >= 5 (reference §7e)
  EXPECT_EQ(map.back().modules, std::vector<std::string>{"norm"});
}

TEST(DeiT, BlockMapFollowsReference) {
  auto net = make("deit_small_patch16_224");
  const auto map = net->block_map();
  ASSERT_EQ(map.size(), 14u);
  EXPECT_EQ(map[0].index, -1);
  EXPECT_EQ(map[0].modules, (std::vector<std::string>{"patch_embed", "cls_token", "pos_embed"}));
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(map[i + 1].index, i);
    EXPECT_EQ(map[i + 1].modules, std::vector<std::string>{"blocks." + std::to_string(i)});
  }
  EXPECT_EQ(map[13].index, 12);
  EXPECT_EQ(map[13].modules, std::vector<std::string>{"norm"});
  // Every parameter but the head lies in exactly one block.
  for (const auto& e : state_entries(*net)) {
    int hits = 0;
    for (const auto& b : map)
      for (const auto& m : b.modules) hits += under_module(e.name, m) ? 1 : 0;
    EXPECT_EQ(hits, under_module(e.name, "head") ? 0 : 1) << e.name;
  }
}

TEST(DeiT, ProbesAreTheReferenceModules) {
  auto net = make("deit_small_patch16_224");
  const auto p = net->probe_points();
  ASSERT_EQ(p.size(), 26u);  // reference §7.0
  EXPECT_EQ(p[0], "patch_embed");
  EXPECT_EQ(p[1], "blocks.0.attn");
  EXPECT_EQ(p[2], "blocks.0.mlp");
  EXPECT_EQ(p[24], "blocks.11.mlp");
  EXPECT_EQ(p[25], "head");
}

TEST(DeiT, ProbedForwardReturnsOnlyRequestedBranchOutputs) {
  at::manual_seed(1);
  DeiT net(micro(), 5, 3);
  net.eval();
  auto x = at::randn({2, 3, 32, 32});
  auto out = net.forward_probed(x, {"patch_embed", "blocks.1.attn", "blocks.0.mlp", "head"});
  EXPECT_EQ(out.probes.size(), 4u);
  EXPECT_EQ(out.probes.at("patch_embed").sizes(), (std::vector<int64_t>{2, 16, 32}));
  EXPECT_EQ(out.probes.at("blocks.1.attn").sizes(), (std::vector<int64_t>{2, 17, 32}));
  EXPECT_EQ(out.probes.at("blocks.0.mlp").sizes(), (std::vector<int64_t>{2, 17, 32}));
  EXPECT_TRUE(at::allclose(out.probes.at("head"), out.logits));
  EXPECT_TRUE(at::allclose(out.logits, net.forward(x)));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(net.forward_probed(x, {}).probes.empty());
  EXPECT_THROW(net.forward_probed(x, {"blocks.2.attn"}), featreuse::Error);
}

TEST(DeiT, AttentionBranchIsProjOfSoftmaxAttention) {
  // Recompute blocks.0.attn by hand from the weights and the returned map.
  at::manual_seed(2);
  DeiT net(micro(), 3, 3);
  net.eval();
  auto x = at::randn({1, 3, 32, 32});
  auto maps = net.attention_maps(x);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].block, "blocks.0");
  EXPECT_EQ(maps[0].attn.sizes(), (std::vector<int64_t>{1, 4, 17, 17}));
  EXPECT_EQ(maps[0].grid_h, 4);
  EXPECT_EQ(maps[0].token_px, 8);
  EXPECT_EQ(maps[0].prefix_tokens, 1);
  EXPECT_TRUE(at::allclose(maps[1].attn.sum(-1), at::ones({1, 4, 17})));

  auto probes = net.forward_probed(x, {"patch_embed", "blocks.0.attn"}).probes;
  const auto params = net.named_parameters();
  auto tokens = at::cat({params["cls_token"], probes["patch_embed"]}, 1) + params["pos_embed"];
  auto h = at::layer_norm(tokens, {32}, params["blocks.0.norm1.weight"], params["blocks.0.norm1.bias"], 1e-6);
  auto v = at::linear(h, params["blocks.0.attn.qkv.weight"], params["blocks.0.attn.qkv.bias"])
               .narrow(-1, 64, 32)
               .reshape({1, 17, 4, 8})
               .permute({0, 2, 1, 3});
  auto o = at::matmul(maps[0].attn, v).permute({0, 2, 1, 3}).reshape({1, 17, 32});
  o = at::linear(o, params["blocks.0.attn.proj.weight"], params["blocks.0.attn.proj.bias"]);
  EXPECT_TRUE(at::allclose(o, probes["blocks.0.attn"], 1e-5, 1e-6));
}

TEST(DeiT, PosEmbedResamplesForOtherGrids) {
  at::manual_seed(3);
  DeiT net(micro(), 3, 3);  // native grid 4x4
  EXPECT_TRUE(net.pos_embed_for(4, 4).is_same(net.named_parameters()["pos_embed"]));
  auto p = net.pos_embed_for(6, 3);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{1, 1 + 18, 32}));
  EXPECT_TRUE(at::equal(p.narrow(1, 0, 1), net.named_parameters()["pos_embed"].narrow(1, 0, 1)));
  {
    // A constant grid stays constant (the bicubic kernel sums to 1).
    at::NoGradGuard g;
    net.named_parameters()["pos_embed"].fill_(0.25);
  }
  EXPECT_TRUE(at::allclose(net.pos_embed_for(7, 2), at::full({1, 15, 32}, 0.25), 1e-5, 1e-6));
  // Other input sizes run; sides must be multiples of the patch.
  EXPECT_EQ(net.forward(at::randn({1, 3, 48, 24})).sizes(), (std::vector<int64_t>{1, 3}));
  EXPECT_THROW(net.forward(at::randn({1, 3, 30, 32})), featreuse::Error);
  EXPECT_THROW(net.forward(at::randn({1, 1, 32, 32})), featreuse::Error);
}

TEST(DeiT, InitFollowsTimm) {
  at::manual_seed(4);
  auto net = make("deit_small_patch16_224", {}, 10);
  auto p = net->named_parameters();
  auto w = p["blocks.3.mlp.fc1.weight"];
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.0005);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.0005);
  EXPECT_EQ(p["blocks.3.mlp.fc1.bias"].abs().max().item<double>(), 0.0);
  EXPECT_EQ(p["blocks.3.norm1.weight"].min().item<double>(), 1.0);
  EXPECT_EQ(p["norm.bias"].abs().max().item<double>(), 0.0);
  EXPECT_NEAR(p["pos_embed"].std().item<double>(), 0.02, 0.001);
  EXPECT_GT(p["cls_token"].abs().max().item<double>(), 0.0);
  // Patch conv and head keep PyTorch's default kaiming_uniform(a=sqrt(5)):
  // U(+-1/sqrt(fan_in)).
  const double conv_bound = 1.0 / std::sqrt(3.0 * 16 * 16);
  auto cw = p["patch_embed.proj.weight"];
  EXPECT_LE(cw.abs().max().item<double>(), conv_bound);
  EXPECT_NEAR(cw.std().item<double>(), conv_bound / std::sqrt(3.0), conv_bound * 0.02);
  EXPECT_LE(p["head.weight"].abs().max().item<double>(), 1.0 / std::sqrt(384.0));
  EXPECT_GT(p["head.weight"].abs().max().item<double>(), 0.9 / std::sqrt(384.0));
  // Seeded: the same seed gives the same model.
  at::manual_seed(4);
  auto again = make("deit_small_patch16_224", {}, 10);
  for (const auto& e : state_entries(*again)) EXPECT_TRUE(at::equal(e.tensor, p[e.name])) << e.name;
}

TEST(DeiT, OptionsAreChecked) {
  try {
    make("deit_small_patch16_224", {{"dpeth", 5}});
    FAIL() << "unknown option accepted";
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dpeth"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make("deit", {{"embed_dim", 100}, {"num_heads", 3}}), featreuse::Error);
  EXPECT_THROW(make("deit", {{"patch_size", 5}}, 10, 3, 32), featreuse::Error);
  EXPECT_THROW(make("deit", {{"depth", 0}}), featreuse::Error);
  EXPECT_THROW(make("deit_tiny_patch16_224", {}, 0), featreuse::Error);
  EXPECT_THROW(make("deit_tiny_patch16_224", {}, 10, 2), featreuse::Error);
}

TEST(DeiT, OneChannelInputAndAnyClassCount) {
  auto net = make("deit", {{"patch_size", 4}, {"embed_dim", 16}, {"depth", 1}, {"num_heads", 2}}, 3, 1, 28);
  const auto s = shapes(*net);
  EXPECT_EQ(s.at("patch_embed.proj.weight"), (std::vector<int64_t>{16, 1, 4, 4}));
  EXPECT_EQ(s.at("pos_embed"), (std::vector<int64_t>{1, 50, 16}));
  EXPECT_EQ(net->forward(at::randn({2, 1, 28, 28})).sizes(), (std::vector<int64_t>{2, 3}));
}

TEST(DeiT, DropPathOnlyInTraining) {
  DeiTConfig c = micro();
  c.drop_path_rate = 0.5;
  at::manual_seed(5);
  DeiT net(c, 3, 3);
  auto x = at::randn({8, 3, 32, 32});
  net.eval();
  EXPECT_TRUE(at::equal(net.forward(x), net.forward(x)));
  net.train();
  at::manual_seed(6);
  auto a = net.forward(x);
  at::manual_seed(6);
  EXPECT_TRUE(at::equal(a, net.forward(x)));  // randomness from torch's generator
  EXPECT_FALSE(at::allclose(a, net.forward(x)));
}

// Forward + backward at native size for every registered DeiT preset and the
// configs that are not just a preset (deit_micro uses the configurable
// "deit" arch); batch 2, deit_base batch 1 to keep the CPU test short.
class DeiTSmoke : public ::testing::TestWithParam<std::string> {};

TEST_P(DeiTSmoke, ForwardBackwardAtNativeSize) { model_test::expect_forward_backward(GetParam(), kConfigs); }

INSTANTIATE_TEST_SUITE_P(Registered, DeiTSmoke,
                         ::testing::Values("deit_tiny_patch16_224", "deit_small_patch16_224",
                                           "deit_base_patch16_224", "deit_small5b", "deit_micro"));

TEST(TruncNormal, MatchesTheTruncatedNormal) {
  at::manual_seed(7);
  auto t = at::empty({200000});
  trunc_normal_(t, 0.5, 1.0, -0.5, 1.5);  // N(0.5, 1) cut at +-1 sd
  EXPECT_GE(t.min().item<double>(), -0.5);
  EXPECT_LE(t.max().item<double>(), 1.5);
  EXPECT_NEAR(t.mean().item<double>(), 0.5, 0.005);
  // sd of N(0,1) truncated to [-1, 1]: sqrt(1 - 2 phi(1) / (Phi(1) - Phi(-1))).
  EXPECT_NEAR(t.std().item<double>(), 0.53956, 0.003);
  EXPECT_THROW(trunc_normal_(t, 0.0, 0.0), featreuse::Error);
}

TEST(DropPath, DropsWholeSamplesAndRescales) {
  at::manual_seed(8);
  auto x = at::ones({4000, 3, 5});
  EXPECT_TRUE(drop_path(x, 0.3, false).is_same(x));
  auto y = drop_path(x, 0.3, true);
  auto per_sample = y.view({4000, -1});
  auto kept = per_sample.select(1, 0) != 0;
  // Every element of a sample shares its fate; survivors are scaled by 1/0.7.
  EXPECT_TRUE(at::equal(std::get<0>(per_sample.min(1)), std::get<0>(per_sample.max(1))));
  EXPECT_NEAR(kept.to(at::kFloat).mean().item<double>(), 0.7, 0.03);
  EXPECT_NEAR(per_sample.max().item<double>(), 1.0 / 0.7, 1e-6);
}

TEST(DeiT, TruncatedModelTakesTheFullModelsWeights) {
  auto full = make("deit_small_patch16_224", {}, 10);
  auto five = make("deit_small_patch16_224", {{"depth", 5}}, 10);
  TensorList w;
  for (const auto& e : state_entries(*full)) w.emplace_back(e.name, e.tensor);
  five->adapt_weights(w);
  std::set<std::string> got, want;
  for (const auto& kv : w) got.insert(kv.first);
  for (const auto& e : state_entries(*five)) want.insert(e.name);
  EXPECT_EQ(got, want);
  // Same depth, or a file with fewer blocks: untouched (the strict loader
  // then reports what is missing).
  TensorList same;
  for (const auto& e : state_entries(*full)) same.emplace_back(e.name, e.tensor);
  full->adapt_weights(same);
  EXPECT_EQ(same.size(), state_entries(*full).size());
  TensorList shallow;
  for (const auto& e : state_entries(*five)) shallow.emplace_back(e.name, e.tensor);
  full->adapt_weights(shallow);
  EXPECT_EQ(shallow.size(), state_entries(*five).size());
}

// The paper's three k-NN embeddings of a block's tokens (cls, mean of the
// patch tokens, their concatenation); patch_embed has no class token, so
// every pooling there is the token mean.
TEST(DeiT, ProbePoolingFormsThePapersEmbeddings) {
  auto net = make("deit", {{"patch_size", 4}, {"embed_dim", 16}, {"depth", 1}, {"num_heads", 2}}, 5, 3, 16);
  net->eval();
  at::manual_seed(3);
  const at::Tensor x = at::randn({2, 3, 16, 16});
  auto out = net->forward_probed(x, {"patch_embed", "blocks.0.attn", "head"});
  const at::Tensor tokens = out.probes.at("blocks.0.attn"), embed = out.probes.at("patch_embed");
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{2, 17, 16}));
  ASSERT_EQ(embed.sizes(), (std::vector<int64_t>{2, 16, 16}));
  EXPECT_EQ(net->probe_prefix_tokens("blocks.0.attn"), 1);
  EXPECT_EQ(net->probe_prefix_tokens("patch_embed"), 0);
  // The references, slice by slice.
  std::vector<at::Tensor> cls, patches;
  for (int64_t b = 0; b < 2; ++b) {
    cls.push_back(tokens[b][0]);
    at::Tensor sum = at::zeros({16});
    for (int64_t t = 1; t < 17; ++t) sum += tokens[b][t];
    patches.push_back(sum / 16.0);
  }
  const at::Tensor want_cls = at::stack(cls), want_patches = at::stack(patches);
  const int64_t prefix = net->probe_prefix_tokens("blocks.0.attn");
  EXPECT_TRUE(at::allclose(pool_probe(tokens, prefix, Pooling::cls), want_cls));
  EXPECT_TRUE(at::allclose(pool_probe(tokens, prefix, Pooling::patches), want_patches, 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(pool_probe(tokens, prefix, Pooling::concat), at::cat({want_cls, want_patches}, 1),
                           1e-6, 1e-6));
  EXPECT_TRUE(at::equal(pool_probe(tokens, prefix, Pooling::none), tokens));
  // Kept batch after batch (the k-NN bank), a view would keep every batch's whole sequence.
  for (Pooling p : {Pooling::cls, Pooling::patches, Pooling::concat})
    EXPECT_FALSE(pool_probe(tokens, prefix, p).is_alias_of(tokens)) << pooling_name(p);
  for (Pooling p : {Pooling::cls, Pooling::patches, Pooling::concat}) {
    EXPECT_TRUE(at::allclose(pool_probe(embed, 0, p), embed.mean({1}))) << pooling_name(p);
    EXPECT_EQ(pooled_as(3, 0, p), "mean");
  }
  EXPECT_TRUE(at::equal(pool_probe(out.probes.at("head"), 0, Pooling::concat), out.probes.at("head")));
  EXPECT_THROW(parse_pooling("mean"), featreuse::Error);
  EXPECT_EQ(parse_pooling("concat"), Pooling::concat);
}
