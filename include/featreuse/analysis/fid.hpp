#pragma once
// FID statistics as pytorch-fid computes them: images in [0, 1] are resized
// to 299x299 (bilinear, align_corners=False, no antialiasing), scaled to
// [-1, 1] and run through the FID Inception (`inception_v3_fid`); the
// features are Mixed_7c's output averaged over space (pytorch-fid's pool3,
// 2048 values per image); their mean and covariance (float64) are the
// statistics that frechet.hpp compares.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>

#include "featreuse/models/network.hpp"

namespace featreuse::analysis {

// Mean (float64 [D]) and covariance (float64 [D, D], divided by n - 1 as
// numpy.cov does) of `count` feature vectors.
struct FeatureStats {
  at::Tensor mu, sigma;
  int64_t count = 0;
};

// Running mean and scatter matrix in float64, merged batch by batch (Chan et
// al.'s pairwise update), so no feature matrix is kept and no large sums
// cancel.
class FeatureMoments {
 public:
  void add(const at::Tensor& features);  // [B, D], any float type
  int64_t count() const { return count_; }
  // Needs at least two vectors.
  FeatureStats finish() const;

 private:
  int64_t count_ = 0;
  at::Tensor mean_, scatter_;
};

// pytorch-fid's input preprocessing of [B, C, H, W] images in [0, 1]: one
// channel is repeated to three (PIL's convert("RGB")), then resize and scale.
at::Tensor fid_input(const at::Tensor& images);

// pool3 features [B, D] of preprocessed input (fid_input), in eval mode, on the host.
at::Tensor fid_features(models::Network& net, const at::Tensor& input);

// Fills `images` ([B, C, H, W] in [0, 1]) with the next batch; false at the end.
using ImageBatches = std::function<bool(at::Tensor& images)>;

// Statistics of every image `next` yields (`total` of them, for the progress
// line named `what`), each batch preprocessed and embedded on the network's
// device.
FeatureStats fid_statistics(models::Network& net, const ImageBatches& next, int64_t total,
                            const std::string& what);

}  // namespace featreuse::analysis
