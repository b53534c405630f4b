// The forward from a probe point (Network::probe_inputs, forward_from), for
// every family on small random networks: from each probe's captured input it
// gives the whole forward's logits, and changing the probe module's weights
// between the capture and forward_from gives the whole forward of the changed
// network, which is what the re-initialisation analysis relies on.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "featreuse/core/error.hpp"
#include "model_helpers.hpp"

using namespace featreuse::models;
using model_test::make;

namespace {

struct Case {
  std::string name, arch;
  nlohmann::json options;
  int64_t side;
};

std::vector<Case> cases() {
  return {
      {"resnet basic, small stem",
       "resnet",
       {{"block", "basic"}, {"layers", {1, 2}}, {"widths", {8, 16}}, {"stem", "small"}},
       16},
      {"resnet bottleneck, imagenet stem", "resnet", {{"layers", {1, 1}}, {"widths", {4, 8}}}, 32},
      {"inception", "inception_v3", {{"width", 0.1}}, 75},
      {"deit", "deit", {{"patch_size", 4}, {"embed_dim", 16}, {"depth", 2}, {"num_heads", 2}}, 16},
      // window 3 on an 8 x 8 grid: shifted and padded windows, then one window in stage 1.
      {"swin",
       "swin",
       {{"patch_size", 2}, {"embed_dim", 8}, {"depths", {2, 2}}, {"num_heads", {2, 2}}, {"window_size", 3}},
       16},
  };
}

std::shared_ptr<Network> build(const Case& c) {
  at::manual_seed(0);
  auto net = make(c.arch, c.options, 5, 3, c.side);
  net->eval();
  return net;
}

bool close(const at::Tensor& a, const at::Tensor& b) { return at::allclose(a, b, 1e-5, 1e-5); }

// Moves every parameter and buffer under `module` (BatchNorm statistics stay
// valid: a positive shift of the variance).
void perturb(Network& net, const std::string& module, double by) {
  at::NoGradGuard no_grad;
  for (const auto& e : state_entries(net))
    if (under_module(e.name, module) && e.tensor.is_floating_point()) e.tensor.add_(by);
}

}  // namespace

TEST(ForwardFrom, EachProbeInputGivesTheWholeForward) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto net = build(c);
    at::NoGradGuard no_grad;
    const at::Tensor x = at::randn({3, 3, c.side, c.side});
    const at::Tensor whole = net->forward(x);
    const auto states = net->probe_inputs(x, net->probe_points());
    ASSERT_EQ(states.size(), net->probe_points().size());
    for (const auto& p : net->probe_points())
      EXPECT_TRUE(close(net->forward_from(p, states.at(p)), whole)) << p;
    EXPECT_TRUE(at::equal(net->forward_probed(x, net->probe_points()).logits, whole));
  }
}

TEST(ForwardFrom, AProbeInputDoesNotDependOnItsModule) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto net = build(c);
    at::NoGradGuard no_grad;
    const at::Tensor x = at::randn({2, 3, c.side, c.side});
    const auto states = net->probe_inputs(x, net->probe_points());
    for (const auto& p : net->probe_points()) {
      perturb(*net, p, 0.05);
      const at::Tensor changed = net->forward(x);
      EXPECT_TRUE(close(net->forward_from(p, states.at(p)), changed)) << p;
      perturb(*net, p, -0.05);
    }
  }
}

TEST(ForwardFrom, CapturesOnlyTheProbesAskedForAndRefusesUnknownOnes) {
  const Case c = cases()[3];
  auto net = build(c);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 3, c.side, c.side});
  const auto all = net->probe_inputs(x, net->probe_points());
  const auto one = net->probe_inputs(x, {"blocks.1.attn"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(at::equal(one.at("blocks.1.attn"), all.at("blocks.1.attn")));
  // The residual stream entering a DeiT block: class token and patches, (B, 1 + N, C).
  EXPECT_EQ(one.at("blocks.1.attn").sizes(), (std::vector<int64_t>{2, 17, 16}));
  EXPECT_TRUE(at::equal(all.at("patch_embed"), x));
  EXPECT_THROW(net->probe_inputs(x, {"blocks.9.attn"}), featreuse::Error);
  EXPECT_THROW(net->forward_from("nope", x), featreuse::Error);
}

// One traced forward keeps exactly what the separate calls give: the probes'
// outputs, the states entering them, and (DeiT, Swin) the attention maps.
TEST(ForwardFrom, ATracedForwardKeepsWhatTheSeparateCallsGive) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto net = build(c);
    at::NoGradGuard no_grad;
    const at::Tensor x = at::randn({2, 3, c.side, c.side});
    const auto points = net->probe_points();
    auto* source = dynamic_cast<AttentionMapSource*>(net.get());
    TraceRequest request;
    request.outputs = {points.begin(), points.end()};
    request.inputs = {points.begin() + 1, points.end()};
    request.attention = source != nullptr;
    const TracedPass traced = net->forward_traced(x, request);
    const ProbedOutput probed = net->forward_probed(x, points);
    EXPECT_TRUE(at::equal(traced.logits, probed.logits));
    ASSERT_EQ(traced.outputs.size(), points.size());
    for (const auto& [probe, activation] : probed.probes)
      EXPECT_TRUE(at::equal(traced.outputs.at(probe), activation)) << probe;
    const auto states = net->probe_inputs(x, {points.begin() + 1, points.end()});
    ASSERT_EQ(traced.inputs.size(), states.size());
    for (const auto& [probe, state] : states) EXPECT_TRUE(at::equal(traced.inputs.at(probe), state)) << probe;
    if (!source) {
      request.inputs.clear();
      request.attention = true;
      EXPECT_THROW(net->forward_traced(x, request), featreuse::Error);
      continue;
    }
    const auto maps = source->attention_maps(x);
    ASSERT_EQ(traced.attention.size(), maps.size());
    for (size_t b = 0; b < maps.size(); ++b) {
      EXPECT_EQ(traced.attention[b].block, maps[b].block);
      EXPECT_EQ(traced.attention[b].grid_h, maps[b].grid_h);
      EXPECT_EQ(traced.attention[b].grid_w, maps[b].grid_w);
      EXPECT_TRUE(at::equal(traced.attention[b].attn, maps[b].attn)) << maps[b].block;
    }
  }
}
