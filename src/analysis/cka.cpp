#include "featreuse/analysis/cka.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "featreuse/core/error.hpp"

namespace featreuse::analysis {

namespace {

// Kornblith et al.'s center_gram(unbiased=True).
at::Tensor centred(const at::Tensor& g) {
  const int64_t n = g.size(0);
  at::Tensor out = g.clone();
  out.fill_diagonal_(0);
  at::Tensor means = out.sum(0) / double(n - 2);
  means = means - means.sum() / double(2 * (n - 1));
  out = out - means.unsqueeze(1) - means.unsqueeze(0);
  out.fill_diagonal_(0);
  return out;
}

double hsic_of_centred(const at::Tensor& a, const at::Tensor& b) {
  const double n = double(a.size(0));
  return (a * b).sum().item<double>() / (n * (n - 3));
}

void check_batch(const at::Tensor& x, const at::Tensor& y) {
  if (x.size(0) != y.size(0))
    throw Error("CKA: " + std::to_string(x.size(0)) + " and " + std::to_string(y.size(0)) + " inputs differ");
  if (x.size(0) < 4) throw Error("CKA: the unbiased estimator needs at least 4 inputs per batch");
}

}  // namespace

// Computed on the activations' device.
at::Tensor gram_matrix(const at::Tensor& x) {
  const at::Tensor f = x.flatten(1).to(at::kFloat);
  return at::mm(f, f.t()).to(at::kCPU, at::kDouble);
}

double unbiased_hsic(const at::Tensor& gram_x, const at::Tensor& gram_y) {
  return hsic_of_centred(centred(gram_x.to(at::kDouble)), centred(gram_y.to(at::kDouble)));
}

double linear_cka(const at::Tensor& x, const at::Tensor& y) {
  check_batch(x, y);
  const at::Tensor a = centred(gram_matrix(x)), b = centred(gram_matrix(y));
  return hsic_of_centred(a, b) / std::sqrt(hsic_of_centred(a, a) * hsic_of_centred(b, b));
}

void CkaAccumulator::add(const at::Tensor& x, const at::Tensor& y) {
  check_batch(x, y);
  const at::Tensor a = centred(gram_matrix(x)), b = centred(gram_matrix(y));
  const double xy = hsic_of_centred(a, b), xx = hsic_of_centred(a, a), yy = hsic_of_centred(b, b);
  xy_ += xy;
  xx_ += xx;
  yy_ += yy;
  cka_sum_ += xy / std::sqrt(xx * yy);
  ++batches_;
}

double CkaAccumulator::reference() const {
  return batches_ ? cka_sum_ / double(batches_) : std::numeric_limits<double>::quiet_NaN();
}

double CkaAccumulator::minibatch() const {
  return batches_ ? xy_ / std::sqrt(xx_ * yy_) : std::numeric_limits<double>::quiet_NaN();
}

at::Tensor CkaMatrix::centred_grams(const std::vector<at::Tensor>& activations) {
  std::vector<at::Tensor> grams;
  grams.reserve(activations.size());
  for (const auto& x : activations) grams.push_back(gram_matrix(x));
  return centred_rows(grams);
}

at::Tensor CkaMatrix::centred_rows(const std::vector<at::Tensor>& grams) {
  std::vector<at::Tensor> rows;
  rows.reserve(grams.size());
  for (const auto& g : grams) rows.push_back(centred(g).flatten());
  return at::stack(rows);
}

void CkaMatrix::add(const at::Tensor& row_grams, const at::Tensor& col_grams, int64_t n) {
  if (n < 4) throw Error("CKA: the unbiased estimator needs at least 4 inputs per batch");
  const double scale = 1.0 / (double(n) * double(n - 3));
  const at::Tensor xy = at::mm(row_grams, col_grams.t()) * scale;
  const at::Tensor xx = (row_grams * row_grams).sum(1) * scale;
  const at::Tensor yy = (col_grams * col_grams).sum(1) * scale;
  const at::Tensor cka = xy / at::sqrt(at::outer(xx, yy));
  if (batches_ == 0) {
    xy_ = xy;
    xx_ = xx;
    yy_ = yy;
    cka_sum_ = cka;
  } else {
    xy_ += xy;
    xx_ += xx;
    yy_ += yy;
    cka_sum_ += cka;
  }
  ++batches_;
}

at::Tensor CkaMatrix::reference() const {
  if (batches_ == 0) throw Error("CKA: no batch was added");
  return cka_sum_ / double(batches_);
}

at::Tensor CkaMatrix::minibatch() const {
  if (batches_ == 0) throw Error("CKA: no batch was added");
  return xy_ / at::sqrt(at::outer(xx_, yy_));
}

}  // namespace featreuse::analysis
