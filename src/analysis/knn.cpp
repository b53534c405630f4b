#include "featreuse/analysis/knn.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "featreuse/core/error.hpp"

namespace featreuse::analysis {

namespace {
at::Tensor unit_rows(const at::Tensor& x) {
  const at::Tensor f = x.to(at::kFloat).flatten(1);
  return f / f.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}
}  // namespace

KnnBank::KnnBank(const at::Tensor& features, const at::Tensor& labels, int64_t num_classes) {
  if (features.dim() < 2 || features.size(0) == 0) throw Error("k-NN: the bank needs N x D features, N > 0");
  if (labels.size(0) != features.size(0))
    throw Error("k-NN: " + std::to_string(labels.size(0)) + " labels for " +
                std::to_string(features.size(0)) + " bank features");
  bank_ = unit_rows(features).contiguous();
  labels_ = labels.dim() == 1 ? at::one_hot(labels.to(at::kLong), num_classes).to(at::kDouble)
                              : labels.to(at::kDouble).contiguous();
  if (labels_.size(1) != num_classes)
    throw Error("k-NN: labels have " + std::to_string(labels_.size(1)) + " classes");
}

// Similarities (Qc x k, descending) and bank indices of each query's k nearest.
at::Tensor KnnBank::top_k_neighbours(const at::Tensor& queries, int64_t k, int64_t bank_chunk,
                                     at::Tensor& indices) const {
  at::Tensor best_sim, best_idx;
  for (int64_t start = 0; start < bank_.size(0); start += bank_chunk) {
    const int64_t count = std::min(bank_chunk, bank_.size(0) - start);
    const at::Tensor sim = at::mm(queries, bank_.narrow(0, start, count).t());
    // The chunk's own top k first, then merged with the running top k: the
    // merge sorts 2k candidates per query instead of k + bank_chunk.
    auto [values, positions] = sim.topk(std::min(k, count), 1);
    positions += start;
    if (!best_sim.defined()) {
      best_sim = values;
      best_idx = positions;
      continue;
    }
    const at::Tensor all_sim = at::cat({best_sim, values}, 1), all_idx = at::cat({best_idx, positions}, 1);
    auto [merged, picked] = all_sim.topk(std::min<int64_t>(k, all_sim.size(1)), 1);
    best_sim = merged;
    best_idx = all_idx.gather(1, picked);
  }
  indices = best_idx;
  return best_sim;
}

at::Tensor KnnBank::scores(const at::Tensor& queries, const KnnOptions& options) const {
  if (options.k < 1 || options.temperature <= 0 || options.query_chunk < 1 || options.bank_chunk < 1)
    throw Error("k-NN: k, temperature and chunk sizes must be positive");
  const at::Tensor q = unit_rows(queries);
  if (q.size(1) != bank_.size(1))
    throw Error("k-NN: queries have " + std::to_string(q.size(1)) + " features, the bank " +
                std::to_string(bank_.size(1)));
  const int64_t k = std::min(options.k, bank_.size(0));
  std::vector<at::Tensor> out;
  for (int64_t start = 0; start < q.size(0); start += options.query_chunk) {
    const at::Tensor chunk = q.narrow(0, start, std::min(options.query_chunk, q.size(0) - start));
    at::Tensor indices;
    const at::Tensor sim = top_k_neighbours(chunk, k, options.bank_chunk, indices);
    at::Tensor weights = (sim.to(at::kDouble) / options.temperature).exp();
    weights = weights / weights.sum(1, /*keepdim=*/true);
    const at::Tensor neighbour_labels =
        labels_.index_select(0, indices.flatten()).view({chunk.size(0), k, -1});
    out.push_back((weights.unsqueeze(2) * neighbour_labels).sum(1));
  }
  return at::cat(out, 0);
}

}  // namespace featreuse::analysis
