// fused_attention against ATen's composition of timm's attention (reshape,
// permute, q * scale, matmul, softmax, matmul, transpose), computed in float64.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/models/fused_attention.hpp"

using featreuse::models::fused_attention;
using featreuse::models::fused_attention_applies;

namespace {

struct Composed {
  at::Tensor out, probs;
};

// timm's Attention.forward between the qkv and proj layers, in the type of `qkv`.
Composed composed_attention(const at::Tensor& qkv, int64_t heads, double scale) {
  const int64_t B = qkv.size(0), N = qkv.size(1), C = qkv.size(2) / 3;
  const auto t = qkv.reshape({B, N, 3, heads, C / heads}).permute({2, 0, 3, 1, 4});
  const auto probs = at::matmul(t[0] * scale, t[1].transpose(-2, -1)).softmax(-1);
  return {at::matmul(probs, t[2]).transpose(1, 2).reshape({B, N, C}), probs};
}

double largest_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b).abs().max().item<double>();
}

struct Shape {
  int64_t images, tokens, heads, head_dim;
};

// The fused attention is within float32 rounding of the float64 composition:
// no further from it than a few times ATen's own float32 composition is.
void expect_matches_composition(const Shape& s, double spread) {
  at::manual_seed(7);
  const auto qkv = at::randn({s.images, s.tokens, 3 * s.heads * s.head_dim}) * spread;
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  at::Tensor probs;
  const auto out = fused_attention(qkv, s.heads, scale, &probs);
  const auto exact = composed_attention(qkv.to(at::kDouble), s.heads, scale);
  const auto aten = composed_attention(qkv, s.heads, scale);
  ASSERT_EQ(out.sizes(), exact.out.sizes());
  ASSERT_EQ(probs.sizes(), exact.probs.sizes());
  EXPECT_LE(largest_difference(out, exact.out), 4 * largest_difference(aten.out, exact.out) + 1e-6 * spread);
  EXPECT_LE(largest_difference(probs, exact.probs), 4 * largest_difference(aten.probs, exact.probs) + 1e-6);
  EXPECT_LT(largest_difference(probs.sum(-1), at::ones({1}, at::kDouble)), 2e-6);
  EXPECT_TRUE(out.equal(fused_attention(qkv, s.heads, scale, nullptr)))
      << "the weights asked for change the output";
}

}  // namespace

TEST(FusedAttention, MatchesTheComposedAttentionAtDeiTsShapes) {
  expect_matches_composition({8, 50, 4, 16}, 1.0);   // deit_micro at 28 px
  expect_matches_composition({2, 197, 6, 64}, 1.0);  // deit_small at 224 px
  expect_matches_composition({3, 1, 2, 8}, 1.0);     // one token: every weight 1
  expect_matches_composition({2, 37, 3, 5}, 1.0);    // sizes that fill no vector
  expect_matches_composition({2, 3, 2, 16}, 1.0);    // fewer tokens than a group of query rows
  expect_matches_composition({2, 18, 2, 32}, 1.0);   // a last group of two rows, two feature vectors
}

TEST(FusedAttention, KeepsPeakedAndFlatSoftmaxesRight) {
  expect_matches_composition({2, 50, 4, 16},
                             12.0);  // scores in the hundreds: weights down to e^-87 and below
  expect_matches_composition({2, 50, 4, 16}, 1e-4);  // nearly uniform weights
}

TEST(FusedAttention, SplitOverThreadsGivesTheSameNumbers) {
  at::manual_seed(3);
  const auto qkv = at::randn({5, 50, 3 * 4 * 16});
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = fused_attention(qkv, 4, 0.25, nullptr);
  at::set_num_threads(2);
  const auto two = fused_attention(qkv, 4, 0.25, nullptr);
  at::set_num_threads(before);
  EXPECT_TRUE(one.equal(two));
}

TEST(FusedAttention, StandsAsideWhereAGradientOrAnotherTypeIsNeeded) {
  const auto qkv = at::randn({2, 5, 12});
  EXPECT_TRUE(fused_attention_applies(qkv));
  EXPECT_FALSE(fused_attention_applies(qkv.to(at::kDouble)));
  EXPECT_FALSE(fused_attention_applies(qkv.clone().set_requires_grad(true)));
  {
    at::NoGradGuard no_grad;
    EXPECT_TRUE(fused_attention_applies(qkv.clone().set_requires_grad(true)));
  }
  EXPECT_THROW(fused_attention(qkv, 5, 1.0, nullptr), featreuse::Error);  // 12 features are not 3 x 5 heads
}
