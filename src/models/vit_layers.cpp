#include "featreuse/models/vit_layers.hpp"

#include <ATen/ops/erfinv.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/linear.h>

#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/models/inference_layer_norm.hpp"
#include "featreuse/models/initial_draws.hpp"

namespace featreuse::models {

namespace {
double norm_cdf(double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; }
}  // namespace

void trunc_normal_(at::Tensor t, double mean, double std, double a, double b) {
  if (!(std > 0.0) || !(a < b)) throw Error("trunc_normal_: needs std > 0 and a < b");
  if (!draws_initial_weights()) return;
  at::NoGradGuard no_grad;
  const double l = norm_cdf((a - mean) / std);
  const double u = norm_cdf((b - mean) / std);
  t.uniform_(2.0 * l - 1.0, 2.0 * u - 1.0);
  t.erfinv_();
  t.mul_(std * std::sqrt(2.0));
  t.add_(mean);
  t.clamp_(a, b);
}

at::Tensor drop_path(const at::Tensor& x, double p, bool training) {
  if (p <= 0.0 || !training) return x;
  const double keep = 1.0 - p;
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  auto mask = at::empty(shape, x.options()).bernoulli_(keep);
  if (keep > 0.0) mask.div_(keep);
  return x * mask;
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

at::Tensor apply_linear(torch::nn::Linear& layer, const at::Tensor& x) {
  return at::linear(x, layer->weight, layer->bias);
}

at::Tensor apply_layer_norm(torch::nn::LayerNorm& norm, const at::Tensor& x) {
  const auto& shape = norm->options.normalized_shape();
  if (shape.size() == 1 && inference_layer_norm_applies(x, norm->weight, norm->bias))
    return inference_layer_norm(x, norm->weight, norm->bias, norm->options.eps());
  return norm->forward(x);
}

at::Tensor MlpImpl::forward(const at::Tensor& x) { return apply_linear(fc2, at::gelu(apply_linear(fc1, x))); }

void init_vit_linear_and_norm(torch::nn::Module& root, const std::string& skip) {
  at::NoGradGuard no_grad;
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    const std::string& path = item.key();
    if (!skip.empty() && (path == skip || path.rfind(skip + ".", 0) == 0)) continue;
    if (auto* lin = item.value()->as<torch::nn::Linear>()) {
      trunc_normal_(lin->weight, 0.0, 0.02);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* ln = item.value()->as<torch::nn::LayerNorm>()) {
      if (ln->weight.defined()) ln->weight.fill_(1.0);
      if (ln->bias.defined()) ln->bias.zero_();
    }
  }
}

}  // namespace featreuse::models
