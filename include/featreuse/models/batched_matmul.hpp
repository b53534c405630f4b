#pragma once
// Attention's batched matrix products, spread over ATen's threads.
//
// On CPU, ATen 1.13's bmm multiplies the matrices of a batch one after the
// other, and each of attention's small products (50 x 16 by 16 x 50 for a
// DeiT at 28 px) is too small for the BLAS to split, so the two products of
// every attention block, and the four of its backward pass, ran on one core
// while the others waited. This splits the leading dimension over the
// threads instead; each thread multiplies its share with the same BLAS call.
#include <ATen/core/Tensor.h>

namespace featreuse::models {

// a @ b for a (D0, ..., n, k) and b (D0, ..., k, m) with equal leading
// dimensions, differentiable. The product equals at::matmul's to float
// rounding; it is at::matmul itself off the CPU, with one thread, or inside
// a parallel region.
at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b);

}  // namespace featreuse::models
