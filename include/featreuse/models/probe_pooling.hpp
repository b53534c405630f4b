#pragma once
// The embeddings the paper's layer-wise k-NN forms from a probe's activations
// (reference §7a), for `features --pool` and the analyses:
//  - CNN maps (B, C, H, W): global average pooling -> (B, C);
//  - token sequences with a class token (DeiT blocks, `prefix_tokens` 1):
//      cls     token 0 -> (B, D),
//      patches the mean over the patch tokens -> (B, D),
//      concat  [cls, patches] -> (B, 2D);
//  - token sequences without one (DeiT patch_embed, Swin): the mean over
//    tokens, whichever of cls/patches/concat is asked, as the reference forms
//    only that one there;
//  - (B, K) outputs (the head's logits): unchanged.
#include <ATen/core/Tensor.h>

#include <string>

namespace featreuse::models {

enum class Pooling { none, cls, patches, concat };

// "none", "cls", "patches", "concat"; anything else throws featreuse::Error
// listing them.
Pooling parse_pooling(const std::string& name);
std::string pooling_name(Pooling pooling);

// What `pool_probe` does to activations of this rank with this many prefix
// tokens: "raw", "mean", "cls", "patches", "concat" or "as is".
std::string pooled_as(int64_t dims, int64_t prefix_tokens, Pooling pooling);

// A pooled result never shares memory with part of `activations` (the class
// token is copied out): kept across batches, a view would keep each batch's
// whole token sequence alive. "none", and activations of rank < 3, return
// `activations` itself.
at::Tensor pool_probe(const at::Tensor& activations, int64_t prefix_tokens, Pooling pooling);

}  // namespace featreuse::models
