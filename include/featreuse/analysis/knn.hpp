#pragma once
// The paper's layer-wise k-NN predictor (reference §7(a)): DINO-style weighted
// k nearest neighbours on L2-normalised features (cosine similarity), k = 200,
// temperature 0.1. A query's score for class c is the weighted share of its
// top-k neighbours of class c, sum over them of exp(s / T), over the same sum
// for all k; for multi-label sets it is the weighted label frequency,
// sum (w / sum w) * y_c. The reference then treats the scores as logits.
//
// Memory stays bounded for a large bank (CheXpert's ~190k images): the bank is
// scanned in chunks for each chunk of queries and only the running k nearest
// of each query are kept, so at most query_chunk x bank_chunk similarities and
// query_chunk x k neighbours exist at once. Ties at the k-th place go to the
// lower bank row; a query with a NaN similarity scores NaN.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace featreuse::analysis {

struct KnnOptions {
  int64_t k = 200;
  double temperature = 0.1;
  int64_t query_chunk = 1024;
  int64_t bank_chunk = 16384;
};

class KnnBank {
 public:
  // `features` N x D; `labels` N class indices (int64) or N x C multi-hot
  // (floating, multi-label). The features are L2-normalised here (float32).
  KnnBank(const at::Tensor& features, const at::Tensor& labels, int64_t num_classes);
  // Q x C scores (float64) for Q x D queries (normalised here).
  at::Tensor scores(const at::Tensor& queries, const KnnOptions& options = {}) const;
  int64_t size() const { return bank_.size(0); }

 private:
  at::Tensor bank_;    // N x D, unit rows
  at::Tensor labels_;  // N x C one-hot or multi-hot, float64
};

}  // namespace featreuse::analysis
