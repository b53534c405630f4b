#pragma once
// The Fréchet distance between two Gaussians (FID's formula, as pytorch-fid
// computes it):  |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)),
// in float64, with the trace of the square root from symmetric
// eigendecompositions: tr((S1 S2)^(1/2)) = tr((A S2 A)^(1/2)) with A = S1^(1/2),
// which is exact for symmetric positive semi-definite S1, S2 and needs no
// complex arithmetic.
#include <ATen/core/Tensor.h>

namespace featreuse::analysis {

double frechet_distance(const at::Tensor& mu1, const at::Tensor& sigma1, const at::Tensor& mu2,
                        const at::Tensor& sigma2);

}  // namespace featreuse::analysis
