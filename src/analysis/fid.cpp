#include "featreuse/analysis/fid.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/train/evaluate.hpp"

namespace featreuse::analysis {

namespace {
constexpr int64_t kFidSide = 299;
const char* const kPool3Probe = "Mixed_7c";
}  // namespace

void FeatureMoments::add(const at::Tensor& features) {
  if (features.dim() != 2) throw Error("FID: features must be [batch, dims]");
  const at::Tensor x = features.to(at::kDouble);
  const int64_t n = x.size(0);
  if (n == 0) return;
  const at::Tensor batch_mean = x.mean(0);
  const at::Tensor centred = x - batch_mean;
  const at::Tensor batch_scatter = at::mm(centred.t(), centred);
  if (count_ == 0) {
    mean_ = batch_mean;
    scatter_ = batch_scatter;
    count_ = n;
    return;
  }
  if (x.size(1) != mean_.size(0)) throw Error("FID: feature batches of different widths");
  const int64_t total = count_ + n;
  const at::Tensor delta = batch_mean - mean_;
  scatter_ =
      scatter_ + batch_scatter + at::outer(delta, delta) * (double(count_) * double(n) / double(total));
  mean_ = mean_ + delta * (double(n) / double(total));
  count_ = total;
}

FeatureStats FeatureMoments::finish() const {
  if (count_ < 2) throw Error("FID: statistics need at least 2 images, got " + std::to_string(count_));
  return {mean_.clone(), scatter_ / double(count_ - 1), count_};
}

at::Tensor fid_input(const at::Tensor& images) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    throw Error("FID: images must be [batch, 1 or 3 channels, height, width], got " +
                c10::str(images.sizes()));
  at::Tensor x = images.to(at::kFloat);
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  x = at::upsample_bilinear2d(x, {kFidSide, kFidSide}, /*align_corners=*/false);
  return 2 * x - 1;
}

at::Tensor fid_features(models::Network& net, const at::Tensor& input) {
  torch::NoGradGuard no_grad;
  net.eval();
  const auto out = net.forward_probed(input, {kPool3Probe});
  return out.probes.at(kPool3Probe).mean({2, 3}).to(at::kCPU);  // moments in float64 on the host
}

FeatureStats fid_statistics(models::Network& net, const ImageBatches& next, int64_t total,
                            const std::string& what) {
  FeatureMoments moments;
  ProgressLog progress(what, (long long)total, "images");
  at::Tensor images;
  const c10::Device device = train::network_device(net);
  while (next(images)) {
    moments.add(fid_features(net, fid_input(images.to(device))));  // resized on the network's device
    progress.update(moments.count());
  }
  return moments.finish();
}

}  // namespace featreuse::analysis
