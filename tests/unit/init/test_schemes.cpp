// The scheme catalog, init-config checks and apply(): ri leaves the network
// alone, wt loads the source, st/wtst use the stored ST draw or draw it from
// a seed (the same result), wt_fraction resolves per architecture.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>

#include "featreuse/core/error.hpp"
#include "featreuse/init/init.hpp"
#include "helpers.hpp"

using namespace featreuse;
using namespace featreuse::init;
using namespace init_test;
using nlohmann::json;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

bool same_state(Network& a, Network& b) {
  const auto sa = state_of(a), sb = state_of(b);
  for (const auto& [name, t] : sa)
    if (!same(t, sb.at(name))) return false;
  return true;
}

}  // namespace

TEST(InitSchemes, CatalogNamesParamsAndSources) {
  std::vector<std::string> names;
  for (const auto& s : schemes()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"ri", "st", "wt", "wtst"}));
  for (const auto& s : schemes()) {
    EXPECT_EQ(s.needs_source, s.name != "ri") << s.name;
    EXPECT_TRUE(s.params.is_object()) << s.name;
  }
  EXPECT_EQ(schemes()[1].params, json({{"st_sample_embeddings", false}}));
  EXPECT_EQ(schemes()[3].params,
            json({{"wt_blocks", nullptr}, {"wt_fraction", nullptr}, {"st_sample_embeddings", false}}));
}

TEST(InitSchemes, ConfigErrorsNameTheKey) {
  auto wtst = [](json extra) {
    json j = {{"scheme", "wtst"}, {"wt_blocks", nullptr}, {"wt_fraction", nullptr}, {"source", "abc"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
    return j;
  };
  EXPECT_NO_THROW(check_init(wtst({{"wt_blocks", -2}})));
  EXPECT_NO_THROW(check_init(wtst({{"wt_fraction", 0.5}})));
  EXPECT_NO_THROW(check_init({{"scheme", "ri"}}));
  EXPECT_NE(error_of([&] {
              check_init({{"scheme", "magic"}});
            }).find("unknown initialisation scheme 'magic' (known: ri, st, wt, wtst)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { check_init(wtst({})); }).find("exactly one of wt_blocks"), std::string::npos);
  EXPECT_NE(error_of([&] {
              check_init(wtst({{"wt_blocks", 1}, {"wt_fraction", 0.5}}));
            }).find("got both"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_init(wtst({{"wt_blocks", -3}}));
            }).find("wt_blocks must be an integer >= -2, got -3"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_init(wtst({{"wt_blocks", 1.5}}));
            }).find("wt_blocks must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_init(wtst({{"wt_fraction", 1.5}}));
            }).find("wt_fraction must be a number in [0, 1], got 1.5"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_init({{"scheme", "ri"}, {"wt_blocks", 1}});
            }).find("init ri: unknown key 'wt_blocks'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_init({{"scheme", "st"}, {"st_sample_embeddings", "yes"}});
            }).find("st_sample_embeddings must be true or false"),
            std::string::npos);
  EXPECT_NE(error_of([&] { check_init(json::array()); }).find("expected a mapping"), std::string::npos);
}

TEST(InitSchemes, DepthPerScheme) {
  auto net = make("deit_micro");
  EXPECT_FALSE(transfer_depth(*net, {{"scheme", "ri"}}).has_value());
  EXPECT_EQ(transfer_depth(*net, {{"scheme", "st"}}), -2);
  EXPECT_EQ(transfer_depth(*net, {{"scheme", "wt"}}), 4);
  EXPECT_EQ(transfer_depth(*net, {{"scheme", "wtst"}, {"wt_blocks", 3}}), 3);
  EXPECT_EQ(transfer_depth(*net, {{"scheme", "wtst"}, {"wt_fraction", 1.0}}), 4);
  EXPECT_EQ(transfer_depth(*net, {{"scheme", "wtst"}, {"wt_fraction", 0.2}}),
            -1);  // 1 of 5 units: the patchifier
  EXPECT_NE(error_of([&] {
              transfer_depth(*net, {{"scheme", "wtst"}, {"wt_blocks", 5}});
            }).find("wt_blocks 5 is beyond this model's block map: -2 (ST) .. 4 (full WT)"),
            std::string::npos);
  EXPECT_TRUE(needs_st_state({{"scheme", "wtst"}, {"wt_blocks", 3}}));
  EXPECT_FALSE(needs_st_state({{"scheme", "wt"}}));
  EXPECT_TRUE(st_options({{"scheme", "st"}, {"st_sample_embeddings", true}}).sample_embeddings);
  EXPECT_FALSE(st_options({{"scheme", "st"}}).sample_embeddings);
}

TEST(InitSchemes, ApplyRiWtStWtst) {
  const auto source = source_weights("resnet_small", 4);
  auto fresh = [] {
    at::manual_seed(3);
    return make("resnet_small");
  };
  auto reference = fresh();

  auto ri = fresh();
  EXPECT_EQ(apply(*ri, {{"scheme", "ri"}}, nullptr), "RI (library default init)");
  EXPECT_TRUE(same_state(*ri, *reference));

  auto wt = fresh();
  EXPECT_NE(apply(*wt, {{"scheme", "wt"}, {"source", "s1"}}, &source).find("WT from source s1"),
            std::string::npos);
  EXPECT_TRUE(same(state_of(*wt).at("layer4.0.conv2.weight"), by_name(source).at("layer4.0.conv2.weight")));
  EXPECT_TRUE(same(state_of(*wt).at("fc.weight"), state_of(*reference).at("fc.weight")));
  EXPECT_NE(error_of([&] {
              apply(*fresh(), {{"scheme", "wt"}}, nullptr);
            }).find("needs the source's weights"),
            std::string::npos);

  // st/wtst: the stored draw and a draw from the same seed give the same network.
  const json st_cfg = {{"scheme", "st"}, {"source", "s1"}, {"st_sample_embeddings", false}};
  EXPECT_NE(error_of([&] { apply(*fresh(), st_cfg, &source); }).find("needs an ST state"), std::string::npos);
  auto drawn_here = fresh();
  ApplyInputs by_seed;
  by_seed.source = &source;
  by_seed.st_seed = 99;
  EXPECT_NE(apply(*drawn_here, st_cfg, by_seed).find("ST from source s1 (ST drawn here)"), std::string::npos);
  const auto stored = sample_st(*reference, source, 99, st_options(st_cfg));
  auto from_store = fresh();
  ApplyInputs with_state;
  with_state.source = &source;
  with_state.st_state = &stored;
  EXPECT_NE(apply(*from_store, st_cfg, with_state).find("(stored ST draw)"), std::string::npos);
  EXPECT_TRUE(same_state(*drawn_here, *from_store));

  // wt_fraction 0.5 on 5 units = 3 units = depth 2, the same as wt_blocks 2.
  auto by_fraction = fresh(), by_blocks = fresh();
  const std::string how =
      apply(*by_fraction, {{"scheme", "wtst"}, {"wt_fraction", 0.5}, {"source", "s1"}}, with_state);
  EXPECT_NE(how.find("WT-ST depth 2 of 4 (wt_fraction 0.5)"), std::string::npos) << how;
  apply(*by_blocks, {{"scheme", "wtst"}, {"wt_blocks", 2}, {"source", "s1"}}, with_state);
  EXPECT_TRUE(same_state(*by_fraction, *by_blocks));
  EXPECT_TRUE(
      same(state_of(*by_blocks).at("layer2.0.conv1.weight"), by_name(source).at("layer2.0.conv1.weight")));
  EXPECT_TRUE(
      same(state_of(*by_blocks).at("layer3.0.conv1.weight"), by_name(stored).at("layer3.0.conv1.weight")));
}

TEST(InitSchemes, RiGivesAOneChannelFirstConvPyTorchsDefaultInit) {
  // ResNet's family init is Kaiming normal (fan_out); the reference rebuilds a
  // 1-channel conv1 as a plain nn.Conv2d: kaiming_uniform(a=sqrt(5)), bound 1/sqrt(fan_in).
  at::manual_seed(3);
  auto rgb = make("resnet50", 3);
  auto gray = make("resnet50", 1);
  const json ri = {{"scheme", "ri"}};
  apply(*rgb, ri, nullptr);
  const std::string how = apply(*gray, ri, nullptr);
  EXPECT_NE(how.find("PyTorch's default Conv2d init"), std::string::npos) << how;
  const at::Tensor w3 = state_of(*rgb).at("conv1.weight"), w1 = state_of(*gray).at("conv1.weight");
  const double bound = 1.0 / std::sqrt(49.0);  // fan_in = 1 x 7 x 7
  EXPECT_LE(w1.abs().max().item<double>(), bound + 1e-7);
  EXPECT_NEAR(w1.std().item<double>(), bound / std::sqrt(3.0), 0.01);
  EXPECT_NEAR(w3.std().item<double>(), std::sqrt(2.0 / (64 * 49)), 0.002);  // Kaiming normal fan_out
  // Everything else keeps the family init: layer1's convs are Kaiming normal in both.
  EXPECT_NEAR(state_of(*gray).at("layer1.0.conv2.weight").std().item<double>(), std::sqrt(2.0 / (64 * 9)),
              0.002);
}

// copied_entries() is what the store trusts to keep an `initial` entry as a
// reference: every entry it names as copied must hold, after apply(), the
// source's or the ST draw's value, and it must name every entry that does.
TEST(InitSchemes, CopiedEntriesAreExactlyTheCopiesApplyMakes) {
  for (const std::string config : {"resnet_small", "inception_small", "deit_micro", "swin_micro"}) {
    const auto source = source_weights(config, 4);
    auto reference = make(config);
    const auto draw = sample_st(*reference, source, 11, {});
    const auto from_source = by_name(source), from_draw = by_name(draw);
    ApplyInputs inputs;
    inputs.source = &source;
    inputs.st_state = &draw;
    for (const json& init : {json{{"scheme", "ri"}}, json{{"scheme", "wt"}, {"source", "s"}},
                             json{{"scheme", "st"}, {"source", "s"}},
                             json{{"scheme", "wtst"}, {"wt_blocks", 1}, {"source", "s"}}}) {
      at::manual_seed(3);
      auto net = make(config);
      const auto claimed = copied_entries(*net, init);
      apply(*net, init, inputs);
      const auto state = state_of(*net);
      ASSERT_EQ(claimed.size(), state.size()) << config;
      size_t copies = 0;
      for (const auto& e : claimed) {
        const at::Tensor& value = state.at(e.name);
        const bool is_source = from_source.count(e.name) && same(value, from_source.at(e.name));
        const bool is_draw = from_draw.count(e.name) && same(value, from_draw.at(e.name));
        const std::string where = config + " " + init.dump() + " " + e.name;
        if (e.from == CopiedFrom::source) EXPECT_TRUE(is_source) << where;
        if (e.from == CopiedFrom::st_state) EXPECT_TRUE(is_draw) << where;
        // Not claimed: the head, reset norms, or an ST tensor that differs from the source's.
        if (e.from == CopiedFrom::nothing && init["scheme"] != "ri")
          EXPECT_FALSE(is_source && !is_draw) << where;
        copies += e.from != CopiedFrom::nothing;
      }
      if (init["scheme"] == "ri") EXPECT_EQ(copies, 0u) << config;
      if (init["scheme"] != "ri") EXPECT_GT(copies, 0u) << config << " " << init.dump();
    }
  }
}
