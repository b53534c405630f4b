// The inference LayerNorm against ATen's, computed in float64.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include "featreuse/core/error.hpp"
#include "featreuse/models/inference_layer_norm.hpp"

using featreuse::models::inference_layer_norm;
using featreuse::models::inference_layer_norm_applies;

namespace {

double largest_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Within float32 rounding of the float64 LayerNorm: no further from it than
// a few times ATen's own float32 kernel is.
void expect_layer_norm_matches(const std::vector<int64_t>& shape, double mean, double spread) {
  at::manual_seed(11);
  const int64_t width = shape.back();
  const auto x = at::randn(shape) * spread + mean;
  const auto weight = at::randn({width}), bias = at::randn({width});
  const auto ours = inference_layer_norm(x, weight, bias, 1e-6);
  const auto exact =
      at::layer_norm(x.to(at::kDouble), {width}, weight.to(at::kDouble), bias.to(at::kDouble), 1e-6);
  const auto aten = at::layer_norm(x, {width}, weight, bias, 1e-6);
  ASSERT_EQ(ours.sizes(), x.sizes());
  EXPECT_LE(largest_difference(ours, exact), 4 * largest_difference(aten, exact) + 1e-6);
}

}  // namespace

TEST(InferenceLayerNorm, MatchesATenInFloat64) {
  expect_layer_norm_matches({8, 50, 64}, 0.0, 1.0);    // deit_micro
  expect_layer_norm_matches({2, 197, 384}, 0.0, 1.0);  // deit_small
  expect_layer_norm_matches({3, 49, 96}, 0.0, 1.0);    // swin_tiny's first stage
  expect_layer_norm_matches({5, 7, 37}, 0.0, 1.0);     // a width that fills no vector
  expect_layer_norm_matches({4, 3}, 0.0, 1.0);         // narrower than a vector
}

TEST(InferenceLayerNorm, KeepsALargeMeanAndATinySpreadRight) {
  expect_layer_norm_matches({4, 50, 64}, 1000.0, 1.0);  // the mean dwarfs the deviations
  expect_layer_norm_matches({4, 50, 64}, 0.0, 1e-4);    // variance near eps
  // Variance 0: only eps keeps it finite; x * rstd - rstd * mean leaves the
  // rounding of rstd * mean (rstd = 1000 here), as in ATen's kernel.
  const auto constant = at::full({2, 64}, 3.0f);
  const auto out = inference_layer_norm(constant, at::ones({64}), at::full({64}, 0.5f), 1e-6);
  EXPECT_LE(largest_difference(out, at::full({2, 64}, 0.5)), 3e-4);
}

TEST(InferenceLayerNorm, SplitOverThreadsGivesTheSameNumbers) {
  at::manual_seed(3);
  const auto x = at::randn({64, 50, 64});
  const auto weight = at::randn({64}), bias = at::randn({64});
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto norm_one = inference_layer_norm(x, weight, bias, 1e-6);
  at::set_num_threads(2);
  const auto norm_two = inference_layer_norm(x, weight, bias, 1e-6);
  at::set_num_threads(before);
  EXPECT_TRUE(norm_one.equal(norm_two));
}

TEST(InferenceLayerNorm, StandsAsideWhereAGradientOrAnotherTypeIsNeeded) {
  const auto x = at::randn({2, 8}), ones = at::ones({8}), zeros = at::zeros({8});
  EXPECT_TRUE(inference_layer_norm_applies(x, ones, zeros));
  EXPECT_FALSE(inference_layer_norm_applies(x.to(at::kDouble), ones, zeros));
  EXPECT_FALSE(inference_layer_norm_applies(x, at::Tensor(), zeros));
  EXPECT_FALSE(inference_layer_norm_applies(x, at::ones({7}), zeros));
  EXPECT_FALSE(inference_layer_norm_applies(x, ones.clone().set_requires_grad(true), zeros));
  {
    at::NoGradGuard no_grad;
    EXPECT_TRUE(inference_layer_norm_applies(x, ones.clone().set_requires_grad(true), zeros));
  }
  EXPECT_THROW(inference_layer_norm(x, at::ones({7}), at::zeros({7}), 1e-6), featreuse::Error);
  EXPECT_THROW(inference_layer_norm(x.to(at::kDouble), ones, zeros, 1e-6), featreuse::Error);
}
