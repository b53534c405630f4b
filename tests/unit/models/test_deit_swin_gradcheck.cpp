// Gradients of the transformers against finite differences (double
// precision): a directional derivative of a random linear function of the
// logits, with respect to every parameter at once, must match the backward
// pass. Covers pos_embed resampling (DeiT at a non-native size), shifted
// windows with the mask, padding, patch merging, and 1-channel input.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "featreuse/models/deit.hpp"
#include "featreuse/models/swin.hpp"

using namespace featreuse::models;

namespace {

// Returns |numeric - analytic| / |analytic| for direction d over all params.
double directional_error(Network& net, const at::Tensor& x) {
  net.to(at::kDouble);
  net.train();  // drop path is 0 here: train mode must still be deterministic
  auto xd = x.to(at::kDouble);
  auto r = at::randn({x.size(0), net.forward(xd).size(1)}, at::kDouble);
  auto objective = [&] { return (net.forward(xd) * r).sum(); };
  auto params = net.parameters();
  for (auto& p : params) p.mutable_grad() = at::Tensor();
  objective().backward();
  std::vector<at::Tensor> dirs;
  double analytic = 0;
  for (auto& p : params) {
    dirs.push_back(at::randn_like(p));
    analytic += (p.grad() * dirs.back()).sum().item<double>();
  }
  const double eps = 1e-6;
  auto shift = [&](double s) {
    at::NoGradGuard g;
    for (size_t i = 0; i < params.size(); ++i) params[i].add_(dirs[i], s);
  };
  double plus, minus;
  {
    at::NoGradGuard g;
    shift(eps);
    plus = objective().item<double>();
    shift(-2 * eps);
    minus = objective().item<double>();
    shift(eps);
  }
  const double numeric = (plus - minus) / (2 * eps);
  return std::abs(numeric - analytic) / std::max(std::abs(analytic), 1e-12);
}

}  // namespace

TEST(TransformerGradients, DeiTMatchesFiniteDifferences) {
  at::manual_seed(21);
  DeiTConfig c;
  c.img_size = 16;
  c.patch_size = 4;
  c.embed_dim = 16;
  c.depth = 2;
  c.num_heads = 2;
  auto net = std::make_shared<DeiT>(c, 3, 1);
  // 24x20 input: a 6x5 token grid, pos_embed resampled from 4x4. The
  // resampling runs in float32 whatever the model's dtype, as timm's does, so
  // the gradient through it carries float32 rounding: 1e-5, not the 1e-6 of
  // an all-double path (below 1e-6 with LibTorch 1.13, 1.5e-6 with 2.11).
  EXPECT_LT(directional_error(*net, at::randn({2, 1, 24, 20})), 1e-5);
}

TEST(TransformerGradients, SwinMatchesFiniteDifferences) {
  at::manual_seed(22);
  SwinConfig c;
  c.patch_size = 2;
  c.embed_dim = 8;
  c.depths = {2, 2};
  c.num_heads = {2, 2};
  c.window_size = 3;  // 8x8 grid padded to 9x9, shift 1; then 4x4 padded to 6x6
  c.drop_path_rate = 0.0;
  auto net = std::make_shared<SwinTransformer>(c, 3, 3, 16);
  EXPECT_LT(directional_error(*net, at::randn({2, 3, 16, 16})), 1e-6);
}
