#include "featreuse/analysis/frechet.hpp"

#include <ATen/ATen.h>

#include "featreuse/core/error.hpp"

namespace featreuse::analysis {

namespace {

// The symmetric square root of a symmetric positive semi-definite matrix
// (eigenvalues below 0 from rounding are taken as 0).
at::Tensor sqrt_psd(const at::Tensor& s) {
  auto [values, vectors] = at::linalg_eigh(s);
  return at::mm(vectors * values.clamp_min(0).sqrt().unsqueeze(0), vectors.t());
}

}  // namespace

double frechet_distance(const at::Tensor& mu1, const at::Tensor& sigma1, const at::Tensor& mu2,
                        const at::Tensor& sigma2) {
  const int64_t d = mu1.numel();
  if (mu2.numel() != d || sigma1.sizes() != at::IntArrayRef{d, d} || sigma2.sizes() != at::IntArrayRef{d, d})
    throw Error("FID: statistics of different dimensions (means " + std::to_string(d) + " and " +
                std::to_string(mu2.numel()) + ")");
  const at::Tensor m1 = mu1.to(at::kDouble).flatten(), m2 = mu2.to(at::kDouble).flatten();
  const at::Tensor s1 = sigma1.to(at::kDouble), s2 = sigma2.to(at::kDouble);
  const at::Tensor a = sqrt_psd((s1 + s1.t()) / 2);
  at::Tensor middle = at::mm(at::mm(a, s2), a);
  middle = (middle + middle.t()) / 2;
  const double trace_sqrt = at::linalg_eigvalsh(middle).clamp_min(0).sqrt().sum().item<double>();
  return (m1 - m2).square().sum().item<double>() + s1.trace().item<double>() + s2.trace().item<double>() -
         2 * trace_sqrt;
}

}  // namespace featreuse::analysis
