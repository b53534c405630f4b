// WT-ST (reference §2.3) per family: which tensors end up WT / ST / reset /
// own (head) for several depths t, including the edge cases (ResNet bn1 at
// -1 vs 0, the DeiT final norm WT only at t = depth, the Swin downsample of
// stage s WT only from last_j(s) + 1), 1-channel slicing after sampling, and
// the WT fraction -> depth rule. The expected block of each tensor is written
// out here from §2.3, independently of the models' block_map().
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <regex>

#include "featreuse/core/error.hpp"
#include "featreuse/init/st.hpp"
#include "featreuse/init/wtst.hpp"
#include "helpers.hpp"

using namespace featreuse;
using namespace featreuse::init;
using namespace init_test;

namespace {

bool under(const std::string& name, const std::string& path) { return models::under_module(name, path); }

struct Rule {
  std::function<int(const std::string&)> block;     // §2.3 index of a non-head tensor
  std::function<bool(const std::string&)> is_norm;  // owned by a BatchNorm/LayerNorm
};

Rule resnet_rule() {
  return {[](const std::string& n) {
            if (under(n, "conv1")) return -1;
            if (under(n, "bn1")) return 0;
            std::smatch m;
            if (std::regex_search(n, m, std::regex(R"(^layer(\d+)\.)"))) return std::stoi(m[1]);
            ADD_FAILURE() << "unexpected tensor " << n;
            return 99;
          },
          [](const std::string& n) {
            return std::regex_search(n, std::regex(R"((^|\.)bn\d\.|downsample\.1\.)"));
          }};
}

Rule inception_rule() {
  return {[](const std::string& n) {
            const std::vector<std::pair<int, std::vector<std::string>>> groups = {
                {-1, {"Conv2d_1a_3x3"}},
                {0, {"Conv2d_2a_3x3", "Conv2d_2b_3x3"}},
                {1, {"Conv2d_3b_1x1"}},
                {2, {"Conv2d_4a_3x3"}},
                {3, {"Mixed_5b", "Mixed_5c", "Mixed_5d"}},
                {4, {"Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"}},
                {5, {"Mixed_7a", "Mixed_7b", "Mixed_7c"}}};
            for (const auto& [g, mods] : groups)
              for (const auto& m : mods)
                if (under(n, m)) return g;
            ADD_FAILURE() << "unexpected tensor " << n;
            return 99;
          },
          [](const std::string& n) { return n.find(".bn.") != std::string::npos; }};
}

Rule deit_rule(int depth) {
  return {[depth](const std::string& n) {
            if (under(n, "patch_embed") || n == "cls_token" || n == "pos_embed") return -1;
            if (under(n, "norm")) return depth;  // final norm: WT only at t = depth
            std::smatch m;
            if (std::regex_search(n, m, std::regex(R"(^blocks\.(\d+)\.)"))) return std::stoi(m[1]);
            ADD_FAILURE() << "unexpected tensor " << n;
            return 99;
          },
          [](const std::string& n) { return std::regex_search(n, std::regex(R"((^|\.)norm\d?\.)")); }};
}

// Swin with `depths` blocks per stage: global block counter j; the downsample
// after stage s is ST while t <= last_j(s).
Rule swin_rule(std::vector<int> depths) {
  return {[depths](const std::string& n) {
            if (under(n, "patch_embed")) return -1;
            int total = 0;
            for (int d : depths) total += d;
            if (under(n, "norm")) return total;
            std::smatch m;
            if (std::regex_search(n, m, std::regex(R"(^layers\.(\d+)\.blocks\.(\d+)\.)"))) {
              int j = 0;
              for (int s = 0; s < std::stoi(m[1]); ++s) j += depths[s];
              return j + std::stoi(m[2]);
            }
            if (std::regex_search(n, m, std::regex(R"(^layers\.(\d+)\.downsample\.)"))) {
              int last = -1;
              for (int s = 0; s <= std::stoi(m[1]); ++s) last += depths[s];
              return last + 1;
            }
            ADD_FAILURE() << "unexpected tensor " << n;
            return 99;
          },
          [](const std::string& n) { return std::regex_search(n, std::regex(R"((^|\.)norm\d?\.)")); }};
}

Origin expected_origin(const Rule& rule, Network& net, const std::string& name, int t) {
  if (under(name, net.head_name())) return Origin::own;
  if (rule.block(name) <= t) return Origin::wt;
  return rule.is_norm(name) ? Origin::reset : Origin::st;
}

// A 3-channel source tensor as a network with `net`'s first conv sees it.
at::Tensor as_loaded(Network& net, const std::string& name, const at::Tensor& t) {
  if (name == net.first_conv_name() + ".weight" && t.dim() == 4) {
    for (const auto& e : models::state_entries(net))
      if (e.name == name && e.tensor.size(1) != t.size(1)) return t.narrow(1, 0, e.tensor.size(1));
  }
  return t;
}

// Applies WT-ST at depth t to a fresh network and checks every tensor's value
// and plan entry against the rule.
void check_depth(const std::string& config, const Rule& rule, int t, int64_t channels = 3,
                 StOptions options = {}) {
  SCOPED_TRACE(config + " t=" + std::to_string(t) + " channels=" + std::to_string(channels));
  auto net = make(config, channels);
  const auto source = source_weights(config, 21);
  const auto st_list = sample_st(*net, source, 8, options);
  const auto src = by_name(source), st = by_name(st_list);
  const auto before = state_of(*net);
  apply_wtst(*net, source, st_list, t, "test source");
  const auto after = state_of(*net);
  size_t counts[4] = {0, 0, 0, 0};
  for (const auto& p : wtst_plan(*net, t)) {
    const Origin want = expected_origin(rule, *net, p.name, t);
    EXPECT_EQ(to_string(p.origin), std::string(to_string(want))) << p.name;
    ++counts[static_cast<int>(want)];
    const at::Tensor& got = after.at(p.name);
    switch (want) {
      case Origin::own:
        EXPECT_TRUE(same(got, before.at(p.name))) << p.name << " (head touched)";
        break;
      case Origin::wt:
        EXPECT_TRUE(same(got, as_loaded(*net, p.name, src.at(p.name)))) << p.name;
        break;
      case Origin::st:
        EXPECT_TRUE(same(got, as_loaded(*net, p.name, st.at(p.name)))) << p.name;
        break;
      case Origin::reset:
        EXPECT_TRUE(same(got, reset_of(p.name, got))) << p.name;
        break;
    }
  }
  const int full = full_wt_depth(*net);
  EXPECT_EQ(counts[static_cast<int>(Origin::wt)] > 0, t >= -1);
  EXPECT_EQ(counts[static_cast<int>(Origin::st)] + counts[static_cast<int>(Origin::reset)] > 0, t < full);
  EXPECT_GT(counts[static_cast<int>(Origin::own)], 0u);
}

at::Tensor value_after(const std::string& config, int t, const std::string& name, StOptions options = {},
                       int64_t channels = 3) {
  auto net = make(config, channels);
  const auto source = source_weights(config, 21);
  apply_wtst(*net, source, sample_st(*net, source, 8, options), t, "test source");
  return state_of(*net).at(name);
}

at::Tensor source_value(const std::string& config, const std::string& name) {
  return by_name(source_weights(config, 21)).at(name);
}

}  // namespace

TEST(InitWtst, ResNetDepths) {
  for (int t : {-2, -1, 0, 1, 3, 4}) check_depth("resnet_small", resnet_rule(), t);
  // The edge of §2.3: t = -1 transfers conv1 but resets bn1; t = 0 keeps bn1.
  const auto bn = source_value("resnet_small", "bn1.running_var");
  EXPECT_TRUE(same(value_after("resnet_small", -1, "bn1.running_var"), at::ones_like(bn)));
  EXPECT_TRUE(
      same(value_after("resnet_small", -1, "conv1.weight"), source_value("resnet_small", "conv1.weight")));
  EXPECT_TRUE(same(value_after("resnet_small", 0, "bn1.running_var"), bn));
  EXPECT_EQ(value_after("resnet_small", -1, "bn1.num_batches_tracked").item<int64_t>(), 0);
}

TEST(InitWtst, InceptionDepths) {
  for (int t : {-2, -1, 0, 2, 4, 5}) check_depth("inception_small", inception_rule(), t);
}

TEST(InitWtst, DeiTDepths) {
  // deit_micro: depth 4, so t = 3 still resets the final norm and t = 4 is full WT.
  for (int t : {-2, -1, 0, 3, 4}) check_depth("deit_micro", deit_rule(4), t);
  const auto w = source_value("deit_micro", "norm.weight");
  EXPECT_TRUE(same(value_after("deit_micro", 3, "norm.weight"), at::ones_like(w)));
  EXPECT_TRUE(same(value_after("deit_micro", 4, "norm.weight"), w));
  // ST keeps the source's cls_token and pos_embed (the code); the option samples them.
  for (const std::string name : {"cls_token", "pos_embed"}) {
    EXPECT_TRUE(same(value_after("deit_micro", -2, name), source_value("deit_micro", name))) << name;
    EXPECT_FALSE(at::equal(value_after("deit_micro", -2, name, {true}), source_value("deit_micro", name)))
        << name;
    EXPECT_TRUE(same(value_after("deit_micro", -1, name, {true}), source_value("deit_micro", name))) << name;
  }
  check_depth("deit_micro", deit_rule(4), -2, 3, {true});
}

TEST(InitWtst, SwinDepths) {
  // swin_micro: depths [2, 2]: blocks j = 0,1 | 2,3; downsample 0 is WT from t = 2; final norm at t = 4.
  for (int t : {-2, -1, 1, 2, 3, 4}) check_depth("swin_micro", swin_rule({2, 2}), t);
  const std::string ds = "layers.0.downsample.reduction.weight";
  EXPECT_FALSE(at::equal(value_after("swin_micro", 1, ds), source_value("swin_micro", ds)));
  EXPECT_TRUE(same(value_after("swin_micro", 2, ds), source_value("swin_micro", ds)));
  const auto ln = source_value("swin_micro", "patch_embed.norm.weight");
  EXPECT_TRUE(same(value_after("swin_micro", -2, "patch_embed.norm.weight"), at::ones_like(ln)));
  EXPECT_TRUE(same(value_after("swin_micro", -1, "patch_embed.norm.weight"), ln));
  // Relative position tables stay the source's in ST blocks (the code); the option samples them.
  const std::string table = "layers.1.blocks.1.attn.relative_position_bias_table";
  EXPECT_TRUE(same(value_after("swin_micro", -2, table), source_value("swin_micro", table)));
  EXPECT_FALSE(at::equal(value_after("swin_micro", -2, table, {true}), source_value("swin_micro", table)));
}

TEST(InitWtst, OneChannelTakesChannelZeroAfterSampling) {
  for (const std::string config : {"resnet_small", "deit_micro"}) {
    SCOPED_TRACE(config);
    auto gray = make(config, 1);
    const auto source = source_weights(config, 21);
    const auto st_list = sample_st(*gray, source, 8);
    const std::string first = gray->first_conv_name() + ".weight";
    const at::Tensor st3 = by_name(st_list).at(first), src3 = by_name(source).at(first);
    ASSERT_EQ(st3.size(1), 3);  // statistics from the 3-channel tensor
    apply_wtst(*gray, source, st_list, -2, "test");
    EXPECT_TRUE(same(state_of(*gray).at(first), st3.narrow(1, 0, 1)));
    apply_wtst(*gray, source, st_list, -1, "test");
    EXPECT_TRUE(same(state_of(*gray).at(first), src3.narrow(1, 0, 1)));
  }
  check_depth("resnet_small", resnet_rule(), -2, 1);
  check_depth("swin_micro", swin_rule({2, 2}), -2, 1);
}

TEST(InitWtst, FullDepthIsWeightTransfer) {
  for (const std::string config : {"resnet_small", "inception_small", "deit_micro", "swin_micro"}) {
    SCOPED_TRACE(config);
    const auto source = source_weights(config, 21);
    at::manual_seed(1);
    auto a = make(config);
    at::manual_seed(1);
    auto b = make(config);
    apply_wtst(*a, source, sample_st(*a, source, 8), full_wt_depth(*a), "test");
    models::load_weights(*b, source);
    const auto sa = state_of(*a), sb = state_of(*b);
    for (const auto& [name, t] : sa) EXPECT_TRUE(same(t, sb.at(name))) << name;
  }
}

TEST(InitWtst, DepthOutOfRangeIsAnError) {
  auto net = make("resnet_small");
  EXPECT_THROW(wtst_plan(*net, -3), Error);
  EXPECT_THROW(wtst_plan(*net, 5), Error);
  const auto source = source_weights("resnet_small", 1);
  auto st = sample_st(*net, source, 1);
  st.pop_back();
  EXPECT_THROW(apply_wtst(*net, source, st, 0, "test"), Error);  // an incomplete ST state
}

TEST(InitWtst, FractionLevelsPerArchitecture) {
  // The documented table (docs/recipe.md): units as the paper counts them.
  const std::map<std::string, std::vector<int>> want = {
      {"resnet50", {-2, 0, 1, 2, 3, 4}},
      {"inception_v3", {-2, -1, 0, 1, 2, 3, 4, 5}},
      {"deit_small", {-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12}},
      {"swin_tiny", {-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12}},
      {"resnet_small", {-2, 0, 1, 2, 3, 4}},
      {"deit_micro", {-2, -1, 0, 1, 2, 4}},
      {"swin_micro", {-2, -1, 0, 1, 2, 4}}};
  for (const auto& [config, levels] : want) {
    auto net = make(config, 3, 2);
    EXPECT_EQ(wt_levels(*net), levels) << config;
    EXPECT_EQ(depth_for_fraction(*net, 0.0), -2) << config;
    EXPECT_EQ(depth_for_fraction(*net, 1.0), full_wt_depth(*net)) << config;
  }
  auto r = make("resnet_small");
  // N = 5 units: round(f * 5) half up.
  EXPECT_EQ(depth_for_fraction(*r, 0.1), 0);  // 0.5 -> 1 unit: conv1 + bn1
  EXPECT_EQ(depth_for_fraction(*r, 0.09), -2);
  EXPECT_EQ(depth_for_fraction(*r, 0.5), 2);   // 2.5 -> 3 units
  EXPECT_EQ(depth_for_fraction(*r, 0.75), 3);  // 3.75 -> 4 units
  for (double bad : {-0.01, 1.01, std::nan("")}) EXPECT_THROW(depth_for_fraction(*r, bad), Error) << bad;
}
