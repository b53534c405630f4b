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

namespace featreuse::analysis {

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

}  // namespace featreuse::analysis
