// Swin: the official checkpoint layout (names, shapes, buffers, downsample at
// the end of a stage), timm's parameter counts, the shift mask, probes,
// attention maps, block map, drop path, the timm-layout key mapping, options,
// forward/backward. Numerical parity with timm is tests/oracles/timm_parity.py.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "featreuse/core/error.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/models/swin.hpp"
#include "model_helpers.hpp"

using namespace featreuse::models;
using model_test::count;
using model_test::make;

namespace {

std::map<std::string, StateEntry> entries(Network& net) {
  std::map<std::string, StateEntry> out;
  for (const auto& e : state_entries(net)) out[e.name] = e;
  return out;
}

// 32 px, patch 2: stage grids 16 and 8, window 4 (both stages shifted).
SwinConfig tiny_cfg() {
  SwinConfig c;
  c.patch_size = 2;
  c.embed_dim = 16;
  c.depths = {2, 2};
  c.num_heads = {2, 4};
  c.window_size = 4;
  c.drop_path_rate = 0.0;
  return c;
}

const std::string kConfigs = std::string(FEATREUSE_SOURCE_DIR) + "/configs";

}  // namespace

TEST(Swin, ParameterCountsMatchTimm) {
  // timm v0.9.16 create_model(name) (1000 classes): total and without head.
  const std::map<std::string, std::pair<int64_t, int64_t>> expected = {
      {"swin_tiny_patch4_window7_224", {28288354, 27519354}},
      {"swin_small_patch4_window7_224", {49606258, 48837258}},
      {"swin_base_patch4_window7_224", {87768224, 86743224}}};
  for (const auto& [name, counts] : expected) {
    auto net = make(name);
    EXPECT_EQ(count(*net, true), counts.first) << name;
    EXPECT_EQ(count(*net, false), counts.second) << name;
  }
}

TEST(Swin, StateDictFollowsTheOfficialCheckpoint) {
  auto net = make("swin_tiny_patch4_window7_224", {}, 5);
  auto e = entries(*net);
  const std::map<std::string, std::vector<int64_t>> expected = {
      {"patch_embed.proj.weight", {96, 3, 4, 4}},
      {"patch_embed.norm.weight", {96}},
      {"layers.0.blocks.0.norm1.weight", {96}},
      {"layers.0.blocks.0.attn.relative_position_bias_table", {169, 3}},
      {"layers.0.blocks.0.attn.relative_position_index", {49, 49}},
      {"layers.0.blocks.0.attn.qkv.weight", {288, 96}},
      {"layers.0.blocks.0.attn.qkv.bias", {288}},
      {"layers.0.blocks.0.attn.proj.weight", {96, 96}},
      {"layers.0.blocks.0.mlp.fc1.weight", {384, 96}},
      {"layers.0.blocks.0.mlp.fc2.weight", {96, 384}},
      {"layers.0.blocks.1.attn_mask", {64, 49, 49}},
      {"layers.0.downsample.reduction.weight", {192, 384}},
      {"layers.0.downsample.norm.weight", {384}},
      {"layers.2.blocks.5.attn_mask", {4, 49, 49}},
      {"layers.2.downsample.reduction.weight", {768, 1536}},
      {"layers.3.blocks.1.attn.relative_position_bias_table", {169, 24}},
      {"norm.weight", {768}},
      {"head.weight", {5, 768}},
      {"head.bias", {5}}};
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(e.count(name)) << name;
    EXPECT_EQ(e.at(name).tensor.sizes().vec(), shape) << name;
  }
  // Unshifted blocks and the last stage (7x7 = one window) have no mask;
  // the last stage has no downsample; merging has no bias.
  EXPECT_FALSE(e.count("layers.0.blocks.0.attn_mask"));
  EXPECT_FALSE(e.count("layers.3.blocks.1.attn_mask"));
  EXPECT_FALSE(e.count("layers.3.downsample.norm.weight"));
  EXPECT_FALSE(e.count("layers.0.downsample.reduction.bias"));
  EXPECT_TRUE(e.at("layers.0.blocks.1.attn_mask").is_buffer);
  EXPECT_TRUE(e.at("layers.1.blocks.0.attn.relative_position_index").is_buffer);
  EXPECT_EQ(e.at("layers.1.blocks.0.attn.relative_position_index").tensor.scalar_type(), at::kLong);
  // Official Swin-T state_dict: 173 timm entries + 12 relative_position_index
  // + 5 attn_mask buffers (stages 0-2 odd blocks).
  EXPECT_EQ(e.size(), 173u + 12u + 5u);
  EXPECT_EQ(net->head_name(), "head");
  EXPECT_EQ(net->first_conv_name(), "patch_embed.proj");
}

TEST(Swin, RelativePositionIndexAndMaskAreSwins) {
  auto net = make("swin_tiny_patch4_window7_224");
  auto e = entries(*net);
  auto idx = e.at("layers.0.blocks.0.attn.relative_position_index").tensor;
  // Token (0,0) vs (0,0): offset (0,0) -> (6*13+6); (0,0) vs (6,6): (-6,-6) -> 0.
  EXPECT_EQ(idx[0][0].item<int64_t>(), 6 * 13 + 6);
  EXPECT_EQ(idx[0][48].item<int64_t>(), 0);
  EXPECT_EQ(idx[48][0].item<int64_t>(), 168);
  EXPECT_EQ(idx.min().item<int64_t>(), 0);
  EXPECT_EQ(idx.max().item<int64_t>(), 168);
  auto mask = e.at("layers.0.blocks.1.attn_mask").tensor;  // 56x56 grid, window 7, shift 3
  EXPECT_TRUE(at::equal(mask, mask.transpose(1, 2)));
  EXPECT_TRUE(((mask == 0) | (mask == -100)).all().item<bool>());
  EXPECT_EQ(mask.diagonal(0, 1, 2).abs().max().item<double>(), 0.0);
  // Interior windows are one region; the last window (bottom-right corner)
  // mixes four regions; a window on the right edge mixes two.
  EXPECT_EQ(mask[0].abs().max().item<double>(), 0.0);
  const auto corner = (mask[63] == 0).sum().item<int64_t>();
  EXPECT_EQ(corner, 16 * 16 + 12 * 12 + 12 * 12 + 9 * 9);  // regions 4x4, 4x3, 3x4, 3x3 tokens
  const auto edge = (mask[7] == 0).sum().item<int64_t>();  // row 0, last column
  EXPECT_EQ(edge, 28 * 28 + 21 * 21);                      // regions 7x4, 7x3 tokens
}

TEST(Swin, BlockMapFollowsReference) {
  auto net = make("swin_tiny_patch4_window7_224");
  const auto map = net->block_map();
  std::vector<std::pair<int, std::string>> got;
  for (const auto& b : map) {
    ASSERT_EQ(b.modules.size(), 1u);
    got.push_back({b.index, b.modules[0]});
  }
  const std::vector<std::pair<int, std::string>> expected = {{-1, "patch_embed"},
                                                             {0, "layers.0.blocks.0"},
                                                             {1, "layers.0.blocks.1"},
                                                             {2, "layers.0.downsample"},
                                                             {2, "layers.1.blocks.0"},
                                                             {3, "layers.1.blocks.1"},
                                                             {4, "layers.1.downsample"},
                                                             {4, "layers.2.blocks.0"},
                                                             {5, "layers.2.blocks.1"},
                                                             {6, "layers.2.blocks.2"},
                                                             {7, "layers.2.blocks.3"},
                                                             {8, "layers.2.blocks.4"},
                                                             {9, "layers.2.blocks.5"},
                                                             {10, "layers.2.downsample"},
                                                             {10, "layers.3.blocks.0"},
                                                             {11, "layers.3.blocks.1"},
                                                             {12, "norm"}};
  EXPECT_EQ(got, expected);
  for (const auto& e : state_entries(*net)) {
    int hits = 0;
    for (const auto& b : map) hits += under_module(e.name, b.modules[0]) ? 1 : 0;
    EXPECT_EQ(hits, under_module(e.name, "head") ? 0 : 1) << e.name;
  }
}

TEST(Swin, ProbesAreTheReferenceModules) {
  auto net = make("swin_tiny_patch4_window7_224");
  const auto p = net->probe_points();
  ASSERT_EQ(p.size(), 26u);  // reference §7.0
  EXPECT_EQ(p[0], "patch_embed");
  EXPECT_EQ(p[1], "layers.0.blocks.0.attn");
  EXPECT_EQ(p[2], "layers.0.blocks.0.mlp");
  EXPECT_EQ(p[5], "layers.1.blocks.0.attn");
  EXPECT_EQ(p[24], "layers.3.blocks.1.mlp");
  EXPECT_EQ(p[25], "head");
}

TEST(Swin, ProbedForwardAndAttentionMaps) {
  at::manual_seed(1);
  auto shared = std::make_shared<SwinTransformer>(tiny_cfg(), 3, 3, 32);
  SwinTransformer& net = *shared;
  net.eval();
  auto x = at::randn({2, 3, 32, 32});
  auto out =
      net.forward_probed(x, {"patch_embed", "layers.0.blocks.1.attn", "layers.1.blocks.0.mlp", "head"});
  EXPECT_EQ(out.probes.size(), 4u);
  EXPECT_EQ(out.probes.at("patch_embed").sizes(), (std::vector<int64_t>{2, 256, 16}));
  EXPECT_EQ(out.probes.at("layers.0.blocks.1.attn").sizes(), (std::vector<int64_t>{2, 256, 16}));
  EXPECT_EQ(out.probes.at("layers.1.blocks.0.mlp").sizes(), (std::vector<int64_t>{2, 64, 32}));
  EXPECT_TRUE(at::allclose(out.probes.at("head"), out.logits));
  EXPECT_TRUE(at::allclose(out.logits, net.forward(x)));
  EXPECT_THROW(net.forward_probed(x, {"layers.2.blocks.0.attn"}), featreuse::Error);

  auto maps = net.attention_maps(x);
  ASSERT_EQ(maps.size(), 4u);
  EXPECT_EQ(maps[1].block, "layers.0.blocks.1");
  EXPECT_EQ(maps[1].attn.sizes(), (std::vector<int64_t>{2, 16, 2, 16, 16}));
  EXPECT_EQ(maps[1].shift, 2);
  EXPECT_EQ(maps[1].window, 4);
  EXPECT_EQ(maps[0].shift, 0);
  EXPECT_EQ(maps[2].attn.sizes(), (std::vector<int64_t>{2, 4, 4, 16, 16}));
  EXPECT_EQ(maps[2].token_px, 4);
  EXPECT_TRUE(at::allclose(maps[1].attn.sum(-1), at::ones({2, 16, 2, 16})));
  // Across regions of the shifted grid the mask leaves ~exp(-100) weight.
  auto mask = entries(net).at("layers.0.blocks.1.attn_mask").tensor;  // (16, 16, 16)
  auto masked = maps[1].attn.masked_select((mask != 0).unsqueeze(0).unsqueeze(2));
  EXPECT_GT(masked.numel(), 0);
  EXPECT_LT(masked.max().item<double>(), 1e-30);
}

TEST(Swin, DropPathIsActiveOnlyInTraining) {
  SwinConfig c = tiny_cfg();
  c.drop_path_rate = 0.5;
  at::manual_seed(2);
  SwinTransformer net(c, 3, 3, 32);
  auto x = at::randn({8, 3, 32, 32});
  net.eval();
  EXPECT_TRUE(at::equal(net.forward(x), net.forward(x)));
  net.train();
  at::manual_seed(3);
  auto a = net.forward(x);
  at::manual_seed(3);
  EXPECT_TRUE(at::equal(a, net.forward(x)));
  EXPECT_FALSE(at::allclose(a, net.forward(x)));
  // The default drop-path rates are the paper's (0.2 / 0.3 / 0.5).
  auto read = [](const std::string& n) {
    return dynamic_cast<SwinTransformer&>(*make(n)).config().drop_path_rate;
  };
  EXPECT_DOUBLE_EQ(read("swin_tiny_patch4_window7_224"), 0.2);
  EXPECT_DOUBLE_EQ(read("swin_small_patch4_window7_224"), 0.3);
  EXPECT_DOUBLE_EQ(read("swin_base_patch4_window7_224"), 0.5);
}

TEST(Swin, InitFollowsTheOfficialCode) {
  at::manual_seed(4);
  auto net = make("swin_tiny_patch4_window7_224", {}, 10);
  auto p = net->named_parameters();
  EXPECT_NEAR(p["layers.2.blocks.3.attn.qkv.weight"].std().item<double>(), 0.02, 0.0005);
  EXPECT_EQ(p["layers.2.blocks.3.attn.qkv.bias"].abs().max().item<double>(), 0.0);
  EXPECT_NEAR(p["layers.2.blocks.3.attn.relative_position_bias_table"].std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(p["layers.1.downsample.reduction.weight"].std().item<double>(), 0.02, 0.0005);
  EXPECT_EQ(p["layers.1.downsample.norm.weight"].min().item<double>(), 1.0);
  EXPECT_EQ(p["patch_embed.norm.bias"].abs().max().item<double>(), 0.0);
  EXPECT_LE(p["patch_embed.proj.weight"].abs().max().item<double>(), 1.0 / std::sqrt(48.0));
  EXPECT_LE(p["head.weight"].abs().max().item<double>(), 1.0 / std::sqrt(768.0));
  EXPECT_GT(p["head.weight"].abs().max().item<double>(), 0.9 / std::sqrt(768.0));
}

TEST(Swin, TimmLayoutKeysMapToTheOfficialLayout) {
  EXPECT_EQ(swin_key_from_timm("layers.1.downsample.reduction.weight"),
            "layers.0.downsample.reduction.weight");
  EXPECT_EQ(swin_key_from_timm("layers.3.downsample.norm.bias"), "layers.2.downsample.norm.bias");
  EXPECT_EQ(swin_key_from_timm("head.fc.weight"), "head.weight");
  EXPECT_EQ(swin_key_from_timm("layers.10.downsample.norm.bias"), "layers.9.downsample.norm.bias");
  EXPECT_EQ(swin_key_from_timm("layers.1.blocks.0.attn.qkv.weight"), "layers.1.blocks.0.attn.qkv.weight");
  EXPECT_EQ(swin_key_from_timm("norm.weight"), "norm.weight");

  auto net = make("swin_tiny_patch4_window7_224");
  std::vector<std::string> official;
  for (const auto& e : state_entries(*net)) official.push_back(e.name);
  EXPECT_FALSE(is_timm_swin_layout(official));
  // timm's layout of the same model: shift every downsample one stage up,
  // head -> head.fc, no derived buffers.
  std::vector<std::string> timm;
  for (const auto& e : state_entries(*net)) {
    if (e.is_buffer) continue;
    std::string k = e.name;
    for (int s = 2; s >= 0; --s) {
      const std::string from = "layers." + std::to_string(s) + ".downsample.";
      if (k.rfind(from, 0) == 0)
        k = "layers." + std::to_string(s + 1) + ".downsample." + k.substr(from.size());
    }
    if (k.rfind("head.", 0) == 0) k = "head.fc." + k.substr(5);
    timm.push_back(k);
  }
  EXPECT_TRUE(is_timm_swin_layout(timm));
  std::set<std::string> mapped;
  for (const auto& k : timm) mapped.insert(swin_key_from_timm(k));
  std::set<std::string> params;
  for (const auto& e : state_entries(*net))
    if (!e.is_buffer) params.insert(e.name);
  EXPECT_EQ(mapped, params);
  // A headless timm file is still recognised by its downsample keys.
  std::vector<std::string> headless;
  for (const auto& k : timm)
    if (k.rfind("head.", 0) != 0) headless.push_back(k);
  EXPECT_TRUE(is_timm_swin_layout(headless));
}

TEST(Swin, OptionsAndSizesAreChecked) {
  try {
    make("swin_tiny_patch4_window7_224", {{"window", 8}});
    FAIL() << "unknown option accepted";
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'window'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make("swin", {{"depths", std::vector<int>{2, 2}}}), featreuse::Error);  // heads
  EXPECT_THROW(make("swin", {{"num_heads", std::vector<int>{5, 6, 12, 24}}}), featreuse::Error);
  EXPECT_THROW(make("swin_tiny_patch4_window7_224", {}, 10, 3, 200), featreuse::Error);  // 50 -> 25 -> odd
  EXPECT_THROW(make("swin_tiny_patch4_window7_224", {}, 0), featreuse::Error);
  const nlohmann::json small = {
      {"patch_size", 2}, {"embed_dim", 16}, {"depths", {2, 2}}, {"num_heads", {2, 4}}, {"window_size", 4}};
  auto net = make("swin", small, 10, 1, 32);
  EXPECT_EQ(entries(*net).at("patch_embed.proj.weight").tensor.size(1), 1);
  EXPECT_EQ(net->forward(at::randn({2, 1, 32, 32})).sizes(), (std::vector<int64_t>{2, 10}));
  EXPECT_THROW(net->forward(at::randn({1, 1, 28, 28})), featreuse::Error);
  EXPECT_THROW(net->forward(at::randn({1, 3, 32, 32})), featreuse::Error);
}

TEST(Swin, GridsThatAreNotWindowMultiplesArePadded) {
  // 8x8 grid, window 3: padded to 9x9 (timm's behaviour); stage 2 at 4x4 too.
  SwinConfig c = tiny_cfg();
  c.window_size = 3;
  at::manual_seed(5);
  SwinTransformer net(c, 2, 3, 16);
  net.eval();
  auto maps = net.attention_maps(at::randn({1, 3, 16, 16}));
  EXPECT_EQ(maps[1].attn.sizes(), (std::vector<int64_t>{1, 9, 2, 9, 9}));
  EXPECT_EQ(maps[3].attn.sizes(), (std::vector<int64_t>{1, 4, 4, 9, 9}));
  auto out = net.forward_probed(at::randn({1, 3, 16, 16}), {"layers.0.blocks.1.attn"});
  EXPECT_EQ(out.probes.at("layers.0.blocks.1.attn").sizes(), (std::vector<int64_t>{1, 64, 16}));
  EXPECT_TRUE(at::isfinite(out.logits).all().item<bool>());
}

// Forward + backward at native size for every registered Swin preset and the
// configs that are not just a preset (swin_micro uses the configurable
// "swin" arch); batch 2, swin_base batch 1 to keep the CPU test short.
class SwinSmoke : public ::testing::TestWithParam<std::string> {};

TEST_P(SwinSmoke, ForwardBackwardAtNativeSize) { model_test::expect_forward_backward(GetParam(), kConfigs); }

INSTANTIATE_TEST_SUITE_P(Registered, SwinSmoke,
                         ::testing::Values("swin_tiny_patch4_window7_224", "swin_small_patch4_window7_224",
                                           "swin_base_patch4_window7_224", "swin_micro"));

TEST(Swin, AdaptWeightsAcceptsBothLayouts) {
  auto net = make("swin_tiny_patch4_window7_224", {}, 10);
  // Official layout with buffers for another input size: kept names, the
  // network's own buffers.
  TensorList official;
  for (const auto& e : state_entries(*net))
    official.emplace_back(
        e.name, e.name.find("attn_mask") != std::string::npos ? at::zeros({1, 2, 2}) : e.tensor.clone());
  net->adapt_weights(official);
  auto names = [](const TensorList& l) {
    std::map<std::string, at::Tensor> m;
    for (const auto& [k, t] : l) m[k] = t;
    return m;
  };
  auto got = names(official);
  ASSERT_EQ(got.size(), state_entries(*net).size());
  for (const auto& e : state_entries(*net)) {
    ASSERT_TRUE(got.count(e.name)) << e.name;
    EXPECT_TRUE(at::equal(got[e.name], e.tensor)) << e.name;
  }
  // timm layout: downsample one stage later, head.fc, no buffers.
  TensorList timm;
  for (const auto& e : state_entries(*net)) {
    if (e.is_buffer) continue;
    std::string k = e.name;
    if (k.rfind("layers.1.downsample.", 0) == 0)
      k.replace(7, 1, "2");
    else if (k.rfind("layers.0.downsample.", 0) == 0)
      k.replace(7, 1, "1");
    else if (k.rfind("layers.2.downsample.", 0) == 0)
      k.replace(7, 1, "3");
    if (k.rfind("head.", 0) == 0) k = "head.fc." + k.substr(5);
    timm.emplace_back(k, e.tensor);
  }
  net->adapt_weights(timm);
  got = names(timm);
  ASSERT_EQ(got.size(), state_entries(*net).size());
  for (const auto& e : state_entries(*net)) {
    ASSERT_TRUE(got.count(e.name)) << e.name;
    EXPECT_TRUE(got[e.name].is_same(e.tensor)) << e.name;
  }
}
