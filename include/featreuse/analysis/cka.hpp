#pragma once
// Linear CKA with the unbiased HSIC estimator (reference §7(d); Kornblith et
// al. 2019, center_gram(unbiased=True)), on n x p activation matrices of the
// same n inputs. Two estimators over a split seen in batches:
//  - the reference's: CKA of each batch, averaged over batches;
//  - the minibatch one (Nguyen et al. 2021): unbiased HSIC summed over the
//    batches for each pair, then the ratio.
// Only Gram matrices (batch x batch) are formed, in float64; never the whole
// split's activations.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace featreuse::analysis {

// X Xᵀ of n x p activations (flattened beyond the first axis): the product in
// float32 as the reference computes it, returned in float64 on the host.
at::Tensor gram_matrix(const at::Tensor& x);

// The unbiased estimator HSIC_1 (Song et al. 2012) of two n x n Gram
// matrices, n >= 4: the dot product of their unbiasedly centred forms over
// n (n - 3).
double unbiased_hsic(const at::Tensor& gram_x, const at::Tensor& gram_y);

// Linear CKA of n x p and n x q activations (flattened beyond the first axis).
double linear_cka(const at::Tensor& x, const at::Tensor& y);

// Both estimators, fed batch by batch.
class CkaAccumulator {
 public:
  void add(const at::Tensor& x, const at::Tensor& y);  // one batch (n >= 4) of both activations
  double reference() const;                            // mean of the per-batch CKA
  double minibatch() const;                            // sum HSIC(x,y) / sqrt(sum HSIC(x,x) sum HSIC(y,y))
  int64_t batches() const { return batches_; }

 private:
  double xy_ = 0, xx_ = 0, yy_ = 0, cka_sum_ = 0;
  int64_t batches_ = 0;
};

// Both estimators for every pair of a set of row activations and a set of
// column activations of the same inputs (the probes of two networks), batch
// by batch. Each activation's Gram matrix is centred once per batch, and a
// batch's HSIC values for all pairs come from one matrix product.
class CkaMatrix {
 public:
  // The batch's centred Gram matrices, one flattened per row (P x n^2, float64).
  static at::Tensor centred_grams(const std::vector<at::Tensor>& activations);
  // The same from the activations' Gram matrices (gram_matrix).
  static at::Tensor centred_rows(const std::vector<at::Tensor>& grams);
  // One batch (n >= 4): centred_grams (or centred_rows) of the rows' and the columns'.
  void add(const at::Tensor& row_grams, const at::Tensor& col_grams, int64_t n);
  at::Tensor reference() const;  // P x Q, the mean of the per-batch CKA
  at::Tensor minibatch() const;  // P x Q, summed HSIC then the ratio
  int64_t batches() const { return batches_; }

 private:
  at::Tensor xy_, xx_, yy_, cka_sum_;
  int64_t batches_ = 0;
};

}  // namespace featreuse::analysis
