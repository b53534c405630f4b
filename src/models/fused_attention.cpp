#include "featreuse/models/fused_attention.hpp"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "featreuse/core/error.hpp"

namespace featreuse::models {

namespace {

// GCC builds the marked function (and the helpers inlined into it) for
// AVX-512, for AVX2 with FMA and for the baseline, and the loader picks the
// one the CPU runs (function multi-versioning): the binary stays portable.
// The helpers use GCC's vector types: left to itself, GCC kept the
// exponential and the row maximum scalar.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define FEATREUSE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FEATREUSE_CPU_CLONES
#endif

struct HeadLayout {
  int64_t tokens, heads, head_dim;
  int64_t width() const { return heads * head_dim; }
  int64_t token_stride() const { return 3 * width(); }  // qkv floats per token
};

// The helpers below pass 64-byte vectors by value; they are inlined into the
// clones, so no call crosses the ABIs GCC warns about.
#pragma GCC diagnostic ignored "-Wpsabi"

// 16 floats as one value (GCC's vector extensions): one AVX-512 register, two
// AVX2 ones, four SSE ones, whichever the clone is built for. The score rows
// are padded to a whole number of them. `aligned(4)`: loads from any float.
using Floats = float __attribute__((vector_size(64), aligned(4)));
using Ints = int32_t __attribute__((vector_size(64), aligned(4)));
constexpr int64_t kLanes = 16;

// Score rows are padded to whole groups of four vectors: four independent
// sums per key group keep the FMA units busy instead of waiting on one sum.
constexpr int64_t kGroup = 4 * kLanes;
int64_t padded_to_groups(int64_t n) { return (n + kGroup - 1) / kGroup * kGroup; }

[[gnu::always_inline]] inline Floats load(const float* p) {
  Floats v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store(float* p, Floats v) { __builtin_memcpy(p, &v, sizeof v); }

// e^x for x <= 0 (softmax's shifted scores), as Cephes' expf: x = n ln2 + r,
// a degree-5 polynomial in r, 2^n written into the exponent bits. Relative
// error about 1e-7. Below -87.3 (e^x under float's smallest normal) it
// clamps: such a weight is < 1e-37 of the row's largest.
[[gnu::always_inline]] inline Floats exp_nonpositive(Floats x) {
  x = x < -87.3365f ? Floats{} - 87.3365f : x;
  const Floats shifted = x * 1.44269504f + 0.5f;
  Floats n = __builtin_convertvector(__builtin_convertvector(shifted, Ints), Floats);  // truncated
  n = n > shifted ? n - 1.0f : n;                                                      // floored
  const Floats r = x - n * 0.693359375f + n * 2.12194440e-4f;
  Floats p = Floats{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const Floats poly = p * r * r + r + 1.0f;
  const Ints two_to_n = (__builtin_convertvector(n, Ints) + 127) << 23;
  return poly * __builtin_bit_cast(Floats, two_to_n);
}

// row[j] = (q * scale)·k_j for the padded row, with kᵀ laid out
// (head_dim, padded tokens) so that the inner loop runs over keys.
[[gnu::always_inline]] inline void scores(const float* q, float scale, const float* k_t, int64_t padded,
                                          int64_t head_dim, float* row) {
  for (int64_t group = 0; group < padded; group += kGroup) {
    Floats sums[4] = {};
    for (int64_t t = 0; t < head_dim; ++t) {
      const float q_t = q[t] * scale;
      const float* keys = k_t + t * padded + group;
      for (int u = 0; u < 4; ++u) sums[u] += q_t * load(keys + u * kLanes);
    }
    for (int u = 0; u < 4; ++u) store(row + group + u * kLanes, sums[u]);
  }
}

[[gnu::always_inline]] inline float largest(const float* row, int64_t padded) {
  Floats max = load(row);
  for (int64_t j = kLanes; j < padded; j += kLanes) {
    const Floats x = load(row + j);
    max = x > max ? x : max;
  }
  float largest = max[0];
  for (int l = 1; l < kLanes; ++l) largest = std::max(largest, max[l]);
  return largest;
}

// The row's softmax in place over its `tokens` entries; the padding becomes 0.
[[gnu::always_inline]] inline void softmax_in_place(float* row, int64_t tokens, int64_t padded) {
  std::fill(row + tokens, row + padded, -std::numeric_limits<float>::infinity());  // exp clamps, then 0
  const float max = largest(row, padded);
  Floats sums{};
  for (int64_t j = 0; j < padded; j += kLanes) {
    Floats e = exp_nonpositive(load(row + j) - max);
    if (j + kLanes > tokens) {  // a block with padding: zero it
      Ints lane{};
      for (int l = 0; l < kLanes; ++l) lane[l] = static_cast<int32_t>(j + l);
      e = lane < static_cast<int32_t>(tokens) ? e : Floats{};
    }
    store(row + j, e);
    sums += e;
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += sums[l];
  const float inverse = 1.0f / sum;
  for (int64_t j = 0; j < padded; j += kLanes) store(row + j, load(row + j) * inverse);
}

// out = Σ_j row[j] v_j, v_j `stride` floats apart: a vector of features at
// a time, four sums over the keys, then the features a vector does not fill.
[[gnu::always_inline]] inline void weighted_values(const float* row, const float* v, int64_t stride,
                                                   int64_t tokens, int64_t head_dim, float* out) {
  int64_t c = 0;
  for (; c + kLanes <= head_dim; c += kLanes) {
    Floats sums[4] = {};
    int64_t j = 0;
    for (; j + 4 <= tokens; j += 4)
      for (int u = 0; u < 4; ++u) sums[u] += row[j + u] * load(v + (j + u) * stride + c);
    for (; j < tokens; ++j) sums[0] += row[j] * load(v + j * stride + c);
    store(out + c, (sums[0] + sums[1]) + (sums[2] + sums[3]));
  }
  for (; c < head_dim; ++c) {
    float sum = 0.0f;
    for (int64_t j = 0; j < tokens; ++j) sum += row[j] * v[j * stride + c];
    out[c] = sum;
  }
}

// One (image, head): its kᵀ (the padding columns stay 0), then per query
// token the scores, their softmax and the weighted values into the head's
// slice of the image's output.
FEATREUSE_CPU_CLONES
void attend_head(const float* qkv_image, int64_t head, const HeadLayout& layout, float scale, float* k_t,
                 float* row, float* out_image, float* probs_head) {
  const int64_t tokens = layout.tokens, head_dim = layout.head_dim, stride = layout.token_stride();
  const int64_t padded = padded_to_groups(tokens);
  const float* q = qkv_image + head * head_dim;
  const float* k = q + layout.width();
  const float* v = k + layout.width();
  for (int64_t j = 0; j < tokens; ++j)
    for (int64_t t = 0; t < head_dim; ++t) k_t[t * padded + j] = k[j * stride + t];
  for (int64_t i = 0; i < tokens; ++i) {
    scores(q + i * stride, scale, k_t, padded, head_dim, row);
    softmax_in_place(row, tokens, padded);
    if (probs_head) std::copy(row, row + tokens, probs_head + i * tokens);
    weighted_values(row, v, stride, tokens, head_dim, out_image + i * layout.width() + head * head_dim);
  }
}

}  // namespace

bool fused_attention_applies(const at::Tensor& qkv) {
  return qkv.defined() && qkv.is_cpu() && qkv.scalar_type() == at::kFloat && qkv.dim() == 3 &&
         !(at::GradMode::is_enabled() && qkv.requires_grad());
}

at::Tensor fused_attention(const at::Tensor& qkv_in, int64_t heads, double scale, at::Tensor* probs) {
  if (!fused_attention_applies(qkv_in) || heads < 1 || qkv_in.size(2) % (3 * heads) != 0)
    throw Error(
        "fused_attention: needs a float32 CPU tensor (B, N, 3 * heads * head_dim) without gradient, got " +
        c10::str(qkv_in.sizes()) + " for " + std::to_string(heads) + " heads");
  const auto qkv = qkv_in.contiguous();
  const int64_t images = qkv.size(0), tokens = qkv.size(1), width = qkv.size(2) / 3;
  const HeadLayout layout{tokens, heads, width / heads};
  auto out = at::empty({images, tokens, width}, qkv.options());
  if (probs) *probs = at::empty({images, heads, tokens, tokens}, qkv.options());
  const float* in = qkv.data_ptr<float>();
  float* out_data = out.data_ptr<float>();
  float* probs_data = probs ? probs->data_ptr<float>() : nullptr;
  const auto scale_f = static_cast<float>(scale);  // as ATen multiplies a float tensor by a scalar
  at::parallel_for(0, images * heads, 1, [&](int64_t begin, int64_t end) {
    const auto padded = static_cast<size_t>(padded_to_groups(tokens));
    std::vector<float> k_t(padded * static_cast<size_t>(layout.head_dim)), row(padded);  // zeros
    for (int64_t task = begin; task < end; ++task) {
      const int64_t image = task / heads, head = task % heads;
      attend_head(in + image * tokens * layout.token_stride(), head, layout, scale_f, k_t.data(), row.data(),
                  out_data + image * tokens * width,
                  probs_data ? probs_data + task * tokens * tokens : nullptr);
    }
  });
  return out;
}

}  // namespace featreuse::models
