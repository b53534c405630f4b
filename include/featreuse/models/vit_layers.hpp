#pragma once
// Pieces shared by the transformer families (DeiT, Swin): timm's truncated
// normal (InceptionV3's init draws it too), stochastic depth, the two-layer
// MLP and the ViT weight init.
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace featreuse::models {

// timm's trunc_normal_: fills `t` in place with N(mean, std^2) truncated to
// [a, b] (absolute bounds), by inverse-CDF sampling (uniform, then erfinv)
// from torch's default generator, so torch::manual_seed makes it repeatable.
// Draws nothing inside a StructureOnlyBuild (initial_draws.hpp).
void trunc_normal_(at::Tensor t, double mean, double std, double a = -2.0, double b = 2.0);

// Stochastic depth (timm's drop_path, scale_by_keep): in training, zeroes
// each sample's residual branch with probability p and scales the survivors
// by 1/(1-p); the identity otherwise. Draws from torch's default generator.
at::Tensor drop_path(const at::Tensor& x, double p, bool training);

// layer->forward(x) as ATen's at::linear computes it: on contiguous 3-D
// input one addmm on the (B * N, C) view, the bias added as the product's
// starting value. LibTorch's C++ Linear::forward multiplies there, with the
// BLAS zeroing the output first, and adds the bias in a second pass (the
// zeroing alone was about 4% of the demo's DeiT analyses); Python's timm goes
// through at::linear.
at::Tensor apply_linear(torch::nn::Linear& layer, const at::Tensor& x);

// norm->forward(x), through the inference kernel (inference_layer_norm.hpp)
// where it applies: evaluation on the CPU, a LayerNorm over the last
// dimension with its affine parameters.
at::Tensor apply_layer_norm(torch::nn::LayerNorm& norm, const at::Tensor& x);

// timm's Mlp: fc1 -> exact GELU -> fc2 (no dropout).
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

// The timm/DeiT/Swin default init applied to every submodule of `root`
// except those under `skip` (the head, which keeps PyTorch's Linear default,
// reference §2): Linear weights trunc_normal(std .02), biases 0, LayerNorm 1/0.
// Conv2d keeps PyTorch's default init.
void init_vit_linear_and_norm(torch::nn::Module& root, const std::string& skip);

}  // namespace featreuse::models
