#include "featreuse/models/inference_layer_norm.hpp"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty_like.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <cmath>

#include "cpu_vectors.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::models {

namespace {

using namespace cpu;  // NOLINT(google-build-using-namespace): the vectors of this file

// The first `count` (< kLanes) floats at p as a vector, the other lanes 0.
[[gnu::always_inline]] inline Floats load_part(const float* p, int64_t count) {
  float part[kLanes] = {};
  for (int64_t l = 0; l < count; ++l) part[l] = p[l];
  return load(part);
}
[[gnu::always_inline]] inline void store_part(float* p, Floats v, int64_t count) {
  for (int64_t l = 0; l < count; ++l) p[l] = v[l];
}

// Σ x and Σ (x - mean)² over one row of `width` floats (two passes: the
// second has no cancellation).
[[gnu::always_inline]] inline float row_sum(const float* x, int64_t width) {
  Floats sums{};
  int64_t j = 0;
  for (; j + kLanes <= width; j += kLanes) sums += load(x + j);
  if (j < width) sums += load_part(x + j, width - j);
  return lanes_sum(sums);
}
[[gnu::always_inline]] inline float row_squared_deviation(const float* x, int64_t width, float mean) {
  Floats sums{};
  int64_t j = 0;
  for (; j + kLanes <= width; j += kLanes) {
    const Floats d = load(x + j) - mean;
    sums += d * d;
  }
  if (j < width) {
    const Floats d = load_part(x + j, width - j) - mean;
    const Ints in_row = lanes_from(j) < static_cast<int32_t>(width);
    sums += in_row ? d * d : Floats{};
  }
  return lanes_sum(sums);
}

// y = (x * rstd - rstd * mean) * weight + bias, as ATen's kernel writes it.
FEATREUSE_CPU_CLONES
void normalise_rows(const float* x, int64_t rows, int64_t width, const float* weight, const float* bias,
                    float eps, float* y) {
  for (int64_t row = 0; row < rows; ++row, x += width, y += width) {
    const float mean = row_sum(x, width) / static_cast<float>(width);
    const float variance = row_squared_deviation(x, width, mean) / static_cast<float>(width);
    const float rstd = 1.0f / std::sqrt(variance + eps), shift = -rstd * mean;
    int64_t j = 0;
    for (; j + kLanes <= width; j += kLanes)
      store(y + j, (load(x + j) * rstd + shift) * load(weight + j) + load(bias + j));
    const int64_t rest = width - j;
    if (rest > 0)
      store_part(
          y + j,
          (load_part(x + j, rest) * rstd + shift) * load_part(weight + j, rest) + load_part(bias + j, rest),
          rest);
  }
}

// Floats per parallel chunk: enough work to pay for a thread.
constexpr int64_t kGrain = 32768;

}  // namespace

bool inference_layer_norm_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  for (const at::Tensor* t : {&x, &weight, &bias}) {
    if (!t->defined() || !t->is_cpu() || t->scalar_type() != at::kFloat) return false;
    if (at::GradMode::is_enabled() && t->requires_grad()) return false;
  }
  return x.dim() >= 1 && weight.dim() == 1 && bias.dim() == 1 && weight.size(0) == x.size(-1) &&
         bias.size(0) == x.size(-1);
}

at::Tensor inference_layer_norm(const at::Tensor& x_in, const at::Tensor& weight_in,
                                const at::Tensor& bias_in, double eps) {
  if (!inference_layer_norm_applies(x_in, weight_in, bias_in))
    throw Error(
        "inference_layer_norm: needs float32 CPU tensors without gradient, x (..., C), weight and bias (C); "
        "got " +
        c10::str(x_in.sizes()) + ", " + c10::str(weight_in.sizes()) + ", " + c10::str(bias_in.sizes()));
  const auto x = x_in.contiguous(), weight = weight_in.contiguous(), bias = bias_in.contiguous();
  auto y = at::empty_like(x);
  const int64_t width = x.size(-1), rows = width ? x.numel() / width : 0;
  const float* in = x.data_ptr<float>();
  float* out = y.data_ptr<float>();
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(width, 1)),
                   [&](int64_t begin, int64_t end) {
                     normalise_rows(in + begin * width, end - begin, width, weight.data_ptr<float>(),
                                    bias.data_ptr<float>(), static_cast<float>(eps), out + begin * width);
                   });
  return y;
}

}  // namespace featreuse::models
