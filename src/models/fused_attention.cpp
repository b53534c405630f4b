#include "featreuse/models/fused_attention.hpp"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "cpu_vectors.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::models {

namespace {

using namespace cpu;  // NOLINT(google-build-using-namespace): the vectors of this file

struct HeadLayout {
  int64_t tokens, heads, head_dim;
  int64_t width() const { return heads * head_dim; }
  int64_t token_stride() const { return 3 * width(); }  // qkv floats per token
};

// Score rows are padded to whole groups of four vectors: four independent
// sums per key group keep the FMA units busy instead of waiting on one sum.
constexpr int64_t kGroup = 4 * kLanes;
int64_t padded_to_groups(int64_t n) { return (n + kGroup - 1) / kGroup * kGroup; }

// Query rows computed together: each key (and value) vector loaded once
// serves four rows, and the four rows' sums are independent.
constexpr int kRows = 4;

// rows[r][j] = (q_r * scale)·k_j for kRows query rows q[r] (a row may repeat
// another: its result is not used), with kᵀ laid out (head_dim, padded
// tokens) so that the inner loop runs over keys.
[[gnu::always_inline]] inline void scores(const float* const (&q)[kRows], float scale, const float* k_t,
                                          int64_t padded, int64_t head_dim, float* rows) {
  for (int64_t group = 0; group < padded; group += kGroup) {
    Floats sums[kRows][4] = {};
    for (int64_t t = 0; t < head_dim; ++t) {
      const float* keys = k_t + t * padded + group;
      const Floats k[4] = {load(keys), load(keys + kLanes), load(keys + 2 * kLanes), load(keys + 3 * kLanes)};
      for (int r = 0; r < kRows; ++r) {
        const float q_t = q[r][t] * scale;
        for (int u = 0; u < 4; ++u) sums[r][u] += q_t * k[u];
      }
    }
    for (int r = 0; r < kRows; ++r)
      for (int u = 0; u < 4; ++u) store(rows + r * padded + group + u * kLanes, sums[r][u]);
  }
}

// Replaces the first `tokens` scores of each of the kRows rows by
// e^(score - the row's max) and sets inverse[r] to 1 / their sum (the
// softmax's denominator). The last vector's lanes past `tokens` become 0;
// the padding after it is never read. The rows go through
// each step together, so that their reductions' latencies overlap.
[[gnu::always_inline]] inline void exponentiate(float* rows, int64_t padded, int64_t tokens,
                                                float (&inverse)[kRows]) {
  const Floats minus_infinity = Floats{} - std::numeric_limits<float>::infinity();
  const int64_t tail = (tokens - 1) / kLanes * kLanes;  // the last vector, maybe part padding
  const Ints in_tail = lanes_from(tail) < static_cast<int32_t>(tokens);
  Floats last[kRows], max[kRows];
  float largest[kRows];
  for (int r = 0; r < kRows; ++r) {
    const float* row = rows + r * padded;
    last[r] = in_tail ? load(row + tail) : minus_infinity;
    max[r] = last[r];
    for (int64_t j = 0; j < tail; j += kLanes) max[r] = max_of(max[r], load(row + j));
  }
  for (int r = 0; r < kRows; ++r) largest[r] = lanes_max(max[r]);
  Floats sums[kRows];
  for (int r = 0; r < kRows; ++r) {
    float* row = rows + r * padded;
    sums[r] = in_tail ? exp_nonpositive(last[r] - largest[r]) : Floats{};
    store(row + tail, sums[r]);
    for (int64_t j = 0; j < tail; j += kLanes) {
      const Floats e = exp_nonpositive(load(row + j) - largest[r]);
      store(row + j, e);
      sums[r] += e;
    }
  }
  for (int r = 0; r < kRows; ++r) inverse[r] = 1.0f / lanes_sum(sums[r]);
}

// out_r = (Σ_j rows[r][j] v_j) * inverse[r] for the kRows rows, v_j `stride`
// floats apart: a vector of features at a time, two sums per row over the
// keys, then the features a vector does not fill.
[[gnu::always_inline]] inline void weighted_values(const float* rows, int64_t padded, const float* v,
                                                   int64_t stride, int64_t tokens, int64_t head_dim,
                                                   const float (&inverse)[kRows],
                                                   float* const (&out)[kRows]) {
  int64_t c = 0;
  for (; c + kLanes <= head_dim; c += kLanes) {
    Floats sums[kRows][2] = {};
    int64_t j = 0;
    for (; j + 2 <= tokens; j += 2) {
      const Floats v0 = load(v + j * stride + c), v1 = load(v + (j + 1) * stride + c);
      for (int r = 0; r < kRows; ++r) {
        sums[r][0] += rows[r * padded + j] * v0;
        sums[r][1] += rows[r * padded + j + 1] * v1;
      }
    }
    if (j < tokens) {
      const Floats v0 = load(v + j * stride + c);
      for (int r = 0; r < kRows; ++r) sums[r][0] += rows[r * padded + j] * v0;
    }
    for (int r = 0; r < kRows; ++r) store(out[r] + c, (sums[r][0] + sums[r][1]) * inverse[r]);
  }
  for (; c < head_dim; ++c)
    for (int r = 0; r < kRows; ++r) {
      float sum = 0.0f;
      for (int64_t j = 0; j < tokens; ++j) sum += rows[r * padded + j] * v[j * stride + c];
      out[r][c] = sum * inverse[r];
    }
}

// One (image, head): its kᵀ (the padding columns stay 0), then per kRows
// query tokens the scores, their exponentials and the normalised weighted
// values into the head's slice of the image's output. A last group of fewer
// rows repeats its last row, whose output lands on that row's own place.
FEATREUSE_CPU_CLONES
void attend_head(const float* qkv_image, int64_t head, const HeadLayout& layout, float scale, float* k_t,
                 float* rows, float* out_image, float* probs_head) {
  const int64_t tokens = layout.tokens, head_dim = layout.head_dim, stride = layout.token_stride();
  const int64_t padded = padded_to_groups(tokens);
  const float* q = qkv_image + head * head_dim;
  const float* k = q + layout.width();
  const float* v = k + layout.width();
  for (int64_t t = 0; t < head_dim; ++t)  // kᵀ written a row at a time
    for (int64_t j = 0; j < tokens; ++j) k_t[t * padded + j] = k[j * stride + t];
  for (int64_t first = 0; first < tokens; first += kRows) {
    const float* queries[kRows];
    float* out[kRows];
    for (int r = 0; r < kRows; ++r) {
      const int64_t token = std::min(first + r, tokens - 1);
      queries[r] = q + token * stride;
      out[r] = out_image + token * layout.width() + head * head_dim;
    }
    scores(queries, scale, k_t, padded, head_dim, rows);
    float inverse[kRows];
    exponentiate(rows, padded, tokens, inverse);
    weighted_values(rows, padded, v, stride, tokens, head_dim, inverse, out);
    if (probs_head)
      for (int r = 0; r < kRows && first + r < tokens; ++r)
        for (int64_t j = 0; j < tokens; ++j)
          probs_head[(first + r) * tokens + j] = rows[r * padded + j] * inverse[r];
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
    std::vector<float> k_t(padded * static_cast<size_t>(layout.head_dim)), rows(kRows * padded);  // zeros
    for (int64_t task = begin; task < end; ++task) {
      const int64_t image = task / heads, head = task % heads;
      attend_head(in + image * tokens * layout.token_stride(), head, layout, scale_f, k_t.data(), rows.data(),
                  out_data + image * tokens * width,
                  probs_data ? probs_data + task * tokens * tokens : nullptr);
    }
  });
  return out;
}

}  // namespace featreuse::models
