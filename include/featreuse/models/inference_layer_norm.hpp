#pragma once
// LayerNorm over the last dimension for inference on the CPU, a row at a time
// in 16-float vectors. At a DeiT's sizes ATen 1.13 (as Debian builds it: AVX2
// kernels at most) spends about a tenth of an evaluation forward in its
// LayerNorm; this one takes a third of that time. The arithmetic is ATen's
// formula, so results agree to float32 rounding, not bit for bit.
#include <ATen/core/Tensor.h>

namespace featreuse::models {

// Whether inference_layer_norm can stand in for ATen's: float32 CPU tensors,
// x (..., C) with weight and bias (C), and no gradient to record (grad mode
// off, or none of them requires one).
bool inference_layer_norm_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// at::layer_norm(x, {C}, weight, bias, eps) over x's last dimension C:
// (x - mean) / sqrt(var + eps) * weight + bias, the variance biased.
at::Tensor inference_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                double eps);

}  // namespace featreuse::models
