#pragma once
// timm's attention arithmetic (q * scale, q·kᵀ, softmax, ·v) for inference on
// the CPU, in one pass per (image, head) straight from the qkv projection's
// output: no permuted copies of q, k and v, no (B, heads, N, N) weights unless
// asked for, and no tiny per-head BLAS calls (at a DeiT's sizes those calls,
// the softmax and the copies were a third of an evaluation forward).
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace featreuse::models {

// Whether fused_attention can stand in for the ATen composition: a float32
// CPU tensor (B, N, 3 * heads * head_dim) that needs no gradient.
bool fused_attention_applies(const at::Tensor& qkv);

// `qkv`: the projection's output, (B, N, 3 * C) with each token's features
// ordered (q|k|v, head, head_dim) as timm's reshape reads them. Returns the
// heads' outputs side by side, (B, N, C), as timm's transpose(1, 2).reshape
// gives them. `probs`, when given, receives the softmax weights
// (B, heads, N, N). Matches the composition to float32 rounding, not bit for
// bit (other summation orders).
at::Tensor fused_attention(const at::Tensor& qkv, int64_t heads, double scale, at::Tensor* probs);

}  // namespace featreuse::models
