// batched_matmul against at::matmul: the same products and gradients when it
// splits the batch over two threads, on attention's shapes and layouts.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "featreuse/core/error.hpp"
#include "featreuse/models/batched_matmul.hpp"

using featreuse::models::batched_matmul;

namespace {

// Restores ATen's thread count when a test ends.
struct Threads {
  explicit Threads(int n) : before(at::get_num_threads()) { at::set_num_threads(n); }
  ~Threads() { at::set_num_threads(before); }
  int before;
};

// q, k and v as DeiT's attention makes them: views of one fused projection,
// permuted to (B, heads, N, head_dim).
struct Attention {
  at::Tensor q, k, v;
};
Attention attention_inputs(int64_t batch, int64_t heads, int64_t tokens, int64_t width) {
  auto qkv = at::randn({batch, tokens, 3, heads, width}, at::kDouble);
  auto t = qkv.permute({2, 0, 3, 1, 4});
  return {t[0] * 0.25, t[1], t[2]};
}

at::Tensor gradient_of(const at::Tensor& out, const at::Tensor& weights, const at::Tensor& input) {
  return torch::autograd::grad({(out * weights).sum()}, {input})[0];
}

}  // namespace

TEST(BatchedMatmul, SplitOverThreadsItEqualsMatmulOnAttentionsLayouts) {
  Threads two(2);
  at::manual_seed(0);
  for (int64_t batch : {2, 3, 17}) {
    auto in = attention_inputs(batch, 4, 50, 16);
    auto scores = batched_matmul(in.q, in.k.transpose(-2, -1));
    EXPECT_TRUE(at::allclose(scores, at::matmul(in.q, in.k.transpose(-2, -1)), 1e-12, 1e-12));
    auto attn = scores.softmax(-1);
    EXPECT_TRUE(at::allclose(batched_matmul(attn, in.v), at::matmul(attn, in.v), 1e-12, 1e-12));
  }
}

TEST(BatchedMatmul, ItsGradientsEqualMatmulsForBothOperands) {
  Threads two(2);
  at::manual_seed(1);
  auto a = at::randn({5, 3, 7, 4}, at::kDouble).requires_grad_();
  auto b = at::randn({5, 3, 4, 6}, at::kDouble).requires_grad_();
  auto w = at::randn({5, 3, 7, 6}, at::kDouble);
  for (const auto& input : {a, b}) {
    auto ours = gradient_of(batched_matmul(a, b), w, input);
    EXPECT_TRUE(at::allclose(ours, gradient_of(at::matmul(a, b), w, input), 1e-12, 1e-12));
  }
}

TEST(BatchedMatmul, AGradientThroughAPermutedViewReachesTheFusedTensor) {
  Threads two(2);
  at::manual_seed(2);
  auto qkv = at::randn({6, 10, 3, 2, 8}, at::kDouble).requires_grad_();
  auto t = qkv.permute({2, 0, 3, 1, 4});
  auto w = at::randn({6, 2, 10, 10}, at::kDouble);
  auto grad_ours = gradient_of(batched_matmul(t[0], t[1].transpose(-2, -1)), w, qkv);
  auto grad_reference = gradient_of(at::matmul(t[0], t[1].transpose(-2, -1)), w, qkv);
  EXPECT_TRUE(at::allclose(grad_ours, grad_reference, 1e-12, 1e-12));
}

TEST(BatchedMatmul, OneThreadIsMatmulItself) {
  Threads one(1);
  auto a = at::randn({4, 2, 5, 3}), b = at::randn({4, 2, 3, 5});
  EXPECT_TRUE(at::equal(batched_matmul(a, b), at::matmul(a, b)));
}

TEST(BatchedMatmul, ShapesThatDoNotMultiplyBatchByBatchAreRefused) {
  EXPECT_THROW(batched_matmul(at::zeros({4, 2, 5, 3}), at::zeros({4, 2, 4, 5})), featreuse::Error);
  EXPECT_THROW(batched_matmul(at::zeros({4, 2, 5, 3}), at::zeros({3, 2, 3, 5})), featreuse::Error);
  EXPECT_THROW(batched_matmul(at::zeros({4, 2, 5, 3}), at::zeros({2, 3, 5})), featreuse::Error);
}
