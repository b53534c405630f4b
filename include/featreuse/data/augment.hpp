#pragma once
// Training augmentations and evaluation preprocessing as tensor ops on the
// training device (docs/reference-code.md §4). The functional ops
// match torchvision.transforms.functional on float tensors in [0, 1]; the
// random parameters follow torchvision's sampling but come from our own seeded
// generator, per sample, so a batch does not depend on thread scheduling.
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace featreuse::data {

struct AugmentOptions {
  double scale_min = 0.8, scale_max = 1.2;  // RandomResizedCrop area, of the resized image
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  double vflip = 0.5, hflip = 0.5;
  double jitter = 0.2;  // RandomApply probability of ColorJitter
  double brightness = 0.2, contrast = 0.2, saturation = 0.1, hue = 0.1;
  double grayscale = 0.2;
};

struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

// Everything random about one training sample.
struct SampleAugment {
  CropBox crop;
  bool vflip = false, hflip = false;
  bool jitter = false;
  std::array<int, 4> order{0, 1, 2, 3};  // 0 brightness, 1 contrast, 2 saturation, 3 hue
  double brightness = 1, contrast = 1, saturation = 1, hue = 0;
  bool grayscale = false;
};

// Draws one sample's parameters for an image of height x width from `seed`
// (torchvision's order: crop, vflip, hflip, jitter, grayscale).
SampleAugment sample_augment(int64_t height, int64_t width, const AugmentOptions& options, uint64_t seed);

// torchvision RandomResizedCrop.get_params: 10 tries of area x U(scale) and
// log-uniform ratio, else the centre crop clamped to the ratio range.
// `uniform` returns U[0, 1) draws.
CropBox random_resized_crop_box(int64_t height, int64_t width, const AugmentOptions& options,
                                const std::function<double()>& uniform);

// ---- functional ops; img is float C x H x W or N x C x H x W in [0, 1] ----
at::Tensor resized_crop(const at::Tensor& img, const CropBox& box, int64_t size);  // bilinear, antialias=True
at::Tensor resize(const at::Tensor& img, int64_t size);                            // bilinear, antialias=True
at::Tensor center_crop(const at::Tensor& img, int64_t size);
at::Tensor hflip(const at::Tensor& img);
at::Tensor vflip(const at::Tensor& img);
at::Tensor adjust_brightness(const at::Tensor& img, double factor);
at::Tensor adjust_contrast(const at::Tensor& img, double factor);
at::Tensor adjust_saturation(const at::Tensor& img, double factor);
at::Tensor adjust_hue(const at::Tensor& img, double factor);
at::Tensor rgb_to_grayscale(const at::Tensor& img, int64_t output_channels);
at::Tensor normalize(const at::Tensor& img, const std::vector<double>& mean, const std::vector<double>& std);

// ---- batch pipelines: uint8 N x C x S x S (any device) -> normalised float ----
// Training: resize to `resize` when S differs, then per sample crop+resize to
// `size`, flips, jitter, grayscale; then normalisation (mean/std: float C on
// the batch's device). On the CPU the per-sample steps run fused in one pass
// each (augment_cpu.cpp); elsewhere as the ATen ops of augment_batch_aten.
// `out`, if defined, receives the result (contiguous float N x C x size x size
// on the images' device), so a loader can recycle its buffers.
at::Tensor augment_batch(const at::Tensor& images, const std::vector<SampleAugment>& params, int64_t resize,
                         int64_t size, const at::Tensor& mean, const at::Tensor& std, at::Tensor out = {});
// The same pipeline as ATen ops on any device (the reference for the fused path).
at::Tensor augment_batch_aten(const at::Tensor& images, const std::vector<SampleAugment>& params,
                              int64_t resize, int64_t size, const at::Tensor& mean, const at::Tensor& std);
// Evaluation: resize to `resize` when S differs, centre crop `size`, normalise.
at::Tensor eval_batch(const at::Tensor& images, int64_t resize, int64_t size, const at::Tensor& mean,
                      const at::Tensor& std);

}  // namespace featreuse::data
