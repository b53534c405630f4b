// Every registered architecture, as timm's tests walk list_models(): the
// head, the first conv, the probe points and the WT-ST block map agree with
// the network's own state_dict, for RGB and single-channel inputs.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

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

INSTANTIATE_TEST_SUITE_P(Registered, EveryModel, ::testing::ValuesIn(registry().names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
