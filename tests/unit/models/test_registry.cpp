// Every registered architecture, as timm's tests walk list_models(): the
// head, the first conv, the probe points and the WT-ST block map agree with
// the network's own state_dict, for RGB and single-channel inputs; a
// structure-only build (what planning builds) has the same structure.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "featreuse/models/initial_draws.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/models/registry.hpp"
#include "model_helpers.hpp"

using namespace featreuse::models;

namespace {

std::map<std::string, at::Tensor> by_name(Network& net) {
  std::map<std::string, at::Tensor> out;
  for (const auto& e : state_entries(net)) out[e.name] = e.tensor;
  return out;
}

bool any_under(const std::map<std::string, at::Tensor>& entries, const std::string& module) {
  for (const auto& [name, tensor] : entries)
    if (under_module(name, module)) return true;
  return false;
}

class EveryModel : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(EveryModel, HeadFirstConvProbesAndBlockMapMatchItsStateDict) {
  const std::string arch = GetParam();
  const int64_t side = registry().info(arch).default_image_size;
  for (const int64_t channels : {3, 1}) {
    SCOPED_TRACE(arch + ", " + std::to_string(channels) + " channel(s)");
    auto net = model_test::make(arch, {}, 7, channels, side);
    const auto entries = by_name(*net);

    // The head: a fresh Linear with one row per class.
    ASSERT_TRUE(entries.count(net->head_name() + ".weight"));
    EXPECT_EQ(entries.at(net->head_name() + ".weight").size(0), 7);
    EXPECT_EQ(entries.at(net->head_name() + ".bias").size(0), 7);

    // The first conv takes the input's channels.
    const std::string first = net->first_conv_name() + ".weight";
    ASSERT_TRUE(entries.count(first));
    EXPECT_EQ(entries.at(first).dim(), 4);
    EXPECT_EQ(entries.at(first).size(1), channels);

    // Probe points: distinct modules of the network, the head last.
    const auto probes = net->probe_points();
    ASSERT_FALSE(probes.empty());
    EXPECT_EQ(std::set<std::string>(probes.begin(), probes.end()).size(), probes.size());
    EXPECT_EQ(probes.back(), net->head_name());
    for (const auto& p : probes) EXPECT_TRUE(any_under(entries, p)) << p;

    // The block map: indices never decrease, every module exists, and every
    // parameter outside the head lies in exactly one block.
    const auto blocks = net->block_map();
    ASSERT_FALSE(blocks.empty());
    for (size_t i = 1; i < blocks.size(); ++i) EXPECT_LE(blocks[i - 1].index, blocks[i].index);
    std::map<std::string, int> owners;
    for (const auto& block : blocks)
      for (const auto& module : block.modules) {
        EXPECT_TRUE(any_under(entries, module)) << module;
        for (const auto& [name, tensor] : entries)
          if (under_module(name, module)) owners[name] += 1;
      }
    for (const auto& [name, tensor] : entries) {
      if (under_module(name, net->head_name())) {
        EXPECT_EQ(owners.count(name), 0u) << name << " is in the head and in a block";
        continue;
      }
      EXPECT_EQ(owners[name], 1) << name;
    }
  }
}

// Planning reads layouts, probe points and block maps from networks built
// without their weight draws: they must be the drawn network's.
TEST_P(EveryModel, StructureOnlyBuildHasTheDrawnBuildsEntriesProbesAndBlockMap) {
  const std::string arch = GetParam();
  const int64_t side = registry().info(arch).default_image_size;
  auto drawn = model_test::make(arch, {}, 7, 3, side);
  std::shared_ptr<Network> structure;
  {
    StructureOnlyBuild structure_only;
    structure = model_test::make(arch, {}, 7, 3, side);
  }
  const auto expected = state_entries(*drawn);
  const auto got = state_entries(*structure);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, expected[i].name);
    EXPECT_EQ(got[i].is_buffer, expected[i].is_buffer) << got[i].name;
    EXPECT_EQ(got[i].tensor.sizes(), expected[i].tensor.sizes()) << got[i].name;
    EXPECT_EQ(got[i].tensor.scalar_type(), expected[i].tensor.scalar_type()) << got[i].name;
  }
  EXPECT_EQ(structure->probe_points(), drawn->probe_points());
  const auto blocks = structure->block_map(), drawn_blocks = drawn->block_map();
  ASSERT_EQ(blocks.size(), drawn_blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(blocks[i].index, drawn_blocks[i].index);
    EXPECT_EQ(blocks[i].modules, drawn_blocks[i].modules);
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryModel, ::testing::ValuesIn(registry().names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(StructureOnlyBuild, NestsAndRestoresTheDraws) {
  EXPECT_TRUE(draws_initial_weights());
  {
    StructureOnlyBuild outer;
    EXPECT_FALSE(draws_initial_weights());
    {
      StructureOnlyBuild inner;
      EXPECT_FALSE(draws_initial_weights());
    }
    EXPECT_FALSE(draws_initial_weights());
  }
  EXPECT_TRUE(draws_initial_weights());
}

TEST(StructureOnlyBuild, SkipsTheFamilysDrawsAndLeavesLaterBuildsAsBefore) {
  const std::string arch = "deit_tiny_patch16_224";
  at::manual_seed(3);
  auto drawn = by_name(*model_test::make(arch, {}, 5));
  std::map<std::string, at::Tensor> skipped;
  {
    StructureOnlyBuild structure_only;
    at::manual_seed(3);
    skipped = by_name(*model_test::make(arch, {}, 5));
  }
  at::manual_seed(3);
  auto again = by_name(*model_test::make(arch, {}, 5));
  // timm's trunc_normal(std 0.02) when drawn; LibTorch's zeros when not.
  EXPECT_GT(drawn.at("pos_embed").std().item<double>(), 0.015);
  EXPECT_TRUE(skipped.at("pos_embed").eq(0).all().item<bool>());
  for (const auto& [name, tensor] : drawn) EXPECT_TRUE(tensor.equal(again.at(name))) << name;
}
