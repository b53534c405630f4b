// Augmentations as ATen ops (see augment.hpp). The functional ops follow
// torchvision 0.14's tensor implementations (transforms/_functional_tensor.py).
#include "featreuse/data/augment.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "augment_cpu.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::data {

namespace {

// U[0, 1) with 53 bits from a 64-bit Mersenne Twister: identical everywhere.
struct Uniform {
  std::mt19937_64 engine;
  explicit Uniform(uint64_t seed) : engine(seed) {}
  double operator()() { return double(engine() >> 11) * (1.0 / 9007199254740992.0); }
};

void check_image(const at::Tensor& img, const char* op) {
  if (img.dim() != 3 && img.dim() != 4)
    throw Error(std::string(op) + ": expected C x H x W or N x C x H x W");
  if (!img.is_floating_point()) throw Error(std::string(op) + ": expected a float image in [0, 1]");
}

int64_t channels(const at::Tensor& img) { return img.size(-3); }

at::Tensor blend(const at::Tensor& img1, const at::Tensor& img2, double ratio) {
  return (img1 * ratio + img2 * (1.0 - ratio)).clamp_(0.0, 1.0);
}

at::Tensor as_batch(const at::Tensor& img) { return img.dim() == 3 ? img.unsqueeze(0) : img; }

}  // namespace

CropBox random_resized_crop_box(int64_t height, int64_t width, const AugmentOptions& o,
                                const std::function<double()>& uniform) {
  const double area = double(height) * double(width);
  const double log_lo = std::log(o.ratio_min), log_hi = std::log(o.ratio_max);
  auto randint = [&](int64_t n) { return std::min<int64_t>(n - 1, int64_t(uniform() * double(n))); };
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * (o.scale_min + (o.scale_max - o.scale_min) * uniform());
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * uniform());
    // Python's round() is half-to-even, as std::nearbyint in the default rounding mode.
    const int64_t w = int64_t(std::nearbyint(std::sqrt(target * ratio)));
    const int64_t h = int64_t(std::nearbyint(std::sqrt(target / ratio)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      CropBox box;
      box.height = h;
      box.width = w;
      box.top = randint(height - h + 1);
      box.left = randint(width - w + 1);
      return box;
    }
  }
  // Fallback: the whole image, clamped to the ratio range, centred.
  CropBox box;
  const double in_ratio = double(width) / double(height);
  const double lo = std::min(o.ratio_min, o.ratio_max), hi = std::max(o.ratio_min, o.ratio_max);
  if (in_ratio < lo) {
    box.width = width;
    box.height = int64_t(std::nearbyint(double(box.width) / lo));
  } else if (in_ratio > hi) {
    box.height = height;
    box.width = int64_t(std::nearbyint(double(box.height) * hi));
  } else {
    box.width = width;
    box.height = height;
  }
  box.top = (height - box.height) / 2;
  box.left = (width - box.width) / 2;
  return box;
}

SampleAugment sample_augment(int64_t height, int64_t width, const AugmentOptions& o, uint64_t seed) {
  Uniform uniform(seed);
  SampleAugment a;
  a.crop = random_resized_crop_box(height, width, o, std::ref(uniform));
  a.vflip = uniform() < o.vflip;
  a.hflip = uniform() < o.hflip;
  a.jitter = uniform() < o.jitter;
  // ColorJitter.get_params: a random order, then each factor.
  for (int i = 3; i > 0; --i) std::swap(a.order[i], a.order[std::min<int>(i, int(uniform() * (i + 1)))]);
  a.brightness = 1.0 - o.brightness + 2.0 * o.brightness * uniform();
  a.contrast = 1.0 - o.contrast + 2.0 * o.contrast * uniform();
  a.saturation = 1.0 - o.saturation + 2.0 * o.saturation * uniform();
  a.hue = -o.hue + 2.0 * o.hue * uniform();
  a.grayscale = uniform() < o.grayscale;
  return a;
}

at::Tensor resized_crop(const at::Tensor& img, const CropBox& box, int64_t size) {
  check_image(img, "resized_crop");
  if (box.top < 0 || box.left < 0 || box.height <= 0 || box.width <= 0 ||
      box.top + box.height > img.size(-2) || box.left + box.width > img.size(-1))
    throw Error("resized_crop: crop box outside the image");
  const at::Tensor crop = img.narrow(-2, box.top, box.height).narrow(-1, box.left, box.width);
  return resize(crop, size);
}

at::Tensor resize(const at::Tensor& img, int64_t size) {
  check_image(img, "resize");
  at::Tensor out =
      at::_upsample_bilinear2d_aa(as_batch(img).contiguous(), {size, size}, /*align_corners=*/false);
  return img.dim() == 3 ? out.squeeze(0) : out;
}

at::Tensor center_crop(const at::Tensor& img, int64_t size) {
  const int64_t h = img.size(-2), w = img.size(-1);
  if (size > h || size > w) throw Error("center_crop: crop larger than the image");
  const int64_t top = int64_t(std::nearbyint((h - size) / 2.0)),
                left = int64_t(std::nearbyint((w - size) / 2.0));
  return img.narrow(-2, top, size).narrow(-1, left, size);
}

at::Tensor hflip(const at::Tensor& img) { return img.flip({-1}); }
at::Tensor vflip(const at::Tensor& img) { return img.flip({-2}); }

at::Tensor rgb_to_grayscale(const at::Tensor& img, int64_t output_channels) {
  check_image(img, "rgb_to_grayscale");
  if (channels(img) == 1) {
    if (output_channels == 1) return img;
    auto sizes = img.sizes().vec();
    sizes[sizes.size() - 3] = 3;
    return img.expand(sizes).contiguous();
  }
  const auto rgb = img.unbind(-3);
  at::Tensor l = (rgb[0] * 0.2989 + rgb[1] * 0.587 + rgb[2] * 0.114).unsqueeze(-3);
  if (output_channels == 3) return l.expand(img.sizes()).contiguous();
  return l;
}

at::Tensor adjust_brightness(const at::Tensor& img, double factor) {
  check_image(img, "adjust_brightness");
  return (img * factor).clamp_(0.0, 1.0);
}

at::Tensor adjust_contrast(const at::Tensor& img, double factor) {
  check_image(img, "adjust_contrast");
  const at::Tensor gray = channels(img) == 3 ? rgb_to_grayscale(img, 1) : img;
  const at::Tensor mean = gray.mean({-3, -2, -1}, /*keepdim=*/true);
  return blend(img, mean, factor);
}

at::Tensor adjust_saturation(const at::Tensor& img, double factor) {
  check_image(img, "adjust_saturation");
  if (channels(img) == 1) return img;  // as PIL and torchvision
  return blend(img, rgb_to_grayscale(img, 1), factor);
}

at::Tensor adjust_hue(const at::Tensor& img, double factor) {
  check_image(img, "adjust_hue");
  if (factor < -0.5 || factor > 0.5) throw Error("adjust_hue: factor outside [-0.5, 0.5]");
  if (channels(img) == 1) return img;
  // RGB -> HSV as torchvision's _rgb2hsv.
  const auto rgb = img.unbind(-3);
  const at::Tensor &r = rgb[0], &g = rgb[1], &b = rgb[2];
  const at::Tensor maxc = std::get<0>(img.max(-3)), minc = std::get<0>(img.min(-3));
  const at::Tensor eqc = maxc == minc;
  const at::Tensor cr = maxc - minc;
  const at::Tensor ones = at::ones_like(maxc);
  const at::Tensor s = cr / at::where(eqc, ones, maxc);
  const at::Tensor cr_div = at::where(eqc, ones, cr);
  const at::Tensor rc = (maxc - r) / cr_div, gc = (maxc - g) / cr_div, bc = (maxc - b) / cr_div;
  const at::Tensor hr = (maxc == r).to(img.scalar_type()) * (bc - gc);
  const at::Tensor hg = ((maxc == g) & (maxc != r)).to(img.scalar_type()) * (2.0 + rc - bc);
  const at::Tensor hb = ((maxc != g) & (maxc != r)).to(img.scalar_type()) * (4.0 + gc - rc);
  at::Tensor h = at::fmod((hr + hg + hb) / 6.0 + 1.0, 1.0);
  h = at::remainder(h + factor, 1.0);
  // HSV -> RGB as torchvision's _hsv2rgb.
  const at::Tensor& v = maxc;
  const at::Tensor i = at::floor(h * 6.0);
  const at::Tensor f = h * 6.0 - i;
  const at::Tensor ii = at::remainder(i.to(at::kInt), 6);
  const at::Tensor p = (v * (1.0 - s)).clamp(0.0, 1.0);
  const at::Tensor q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
  const at::Tensor t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
  const at::Tensor out_r = at::where(
      ii == 0, v,
      at::where(ii == 1, q, at::where(ii == 2, p, at::where(ii == 3, p, at::where(ii == 4, t, v)))));
  const at::Tensor out_g = at::where(
      ii == 0, t,
      at::where(ii == 1, v, at::where(ii == 2, v, at::where(ii == 3, q, at::where(ii == 4, p, p)))));
  const at::Tensor out_b = at::where(
      ii == 0, p,
      at::where(ii == 1, p, at::where(ii == 2, t, at::where(ii == 3, v, at::where(ii == 4, v, q)))));
  return at::stack({out_r, out_g, out_b}, -3);
}

at::Tensor normalize(const at::Tensor& img, const std::vector<double>& mean, const std::vector<double>& std) {
  check_image(img, "normalize");
  const int64_t c = channels(img);
  if (int64_t(mean.size()) != c || int64_t(std.size()) != c)
    throw Error("normalize: mean and std need one value per channel");
  std::vector<float> m(mean.begin(), mean.end()), s(std.begin(), std.end());
  const auto opts = at::TensorOptions().dtype(img.scalar_type());
  at::Tensor mt = at::tensor(m, opts).to(img.device()).view({c, 1, 1});
  at::Tensor st = at::tensor(s, opts).to(img.device()).view({c, 1, 1});
  return (img - mt) / st;
}

namespace {

// uint8 batch -> float [0, 1] at `resize` (only resampled when the stored side differs).
at::Tensor to_float_at(const at::Tensor& images, int64_t resize) {
  at::Tensor x = images.to(at::kFloat).div_(255.0f);
  if (images.size(-1) != resize || images.size(-2) != resize)
    x = at::_upsample_bilinear2d_aa(x, {resize, resize}, false);
  return x;
}

void check_batch(const at::Tensor& images, const char* what) {
  if (images.dim() != 4 || images.scalar_type() != at::kByte)
    throw Error(std::string(what) + ": expected a uint8 N x C x H x W batch");
}

}  // namespace

at::Tensor augment_batch(const at::Tensor& images, const std::vector<SampleAugment>& params,
                         int64_t resize_to, int64_t size, const at::Tensor& mean, const at::Tensor& std,
                         at::Tensor out) {
  if (!images.device().is_cpu()) {
    at::Tensor result = augment_batch_aten(images, params, resize_to, size, mean, std);
    return out.defined() ? out.copy_(result) : result;
  }
  check_batch(images, "augment_batch");
  const int64_t n = images.size(0), c = images.size(1);
  if (int64_t(params.size()) != n) throw Error("augment_batch: one parameter set per image needed");
  if (mean.numel() != c || std.numel() != c)
    throw Error("augment_batch: mean and std need one value per channel");
  const at::Tensor m = mean.to(at::kFloat).contiguous(), s = std.to(at::kFloat).contiguous();
  const std::vector<float> mv(m.data_ptr<float>(), m.data_ptr<float>() + c),
      sv(s.data_ptr<float>(), s.data_ptr<float>() + c);
  if (!out.defined()) out = at::empty({n, c, size, size}, images.options().dtype(at::kFloat));
  if (out.sizes() != at::IntArrayRef({n, c, size, size}) || !out.is_contiguous())
    throw Error("augment_batch: the output tensor must be a contiguous N x C x size x size float tensor");
  detail::augment_batch_cpu(images, resize_to, params, size, mv, sv, out);
  return out;
}

at::Tensor augment_batch_aten(const at::Tensor& images, const std::vector<SampleAugment>& params,
                              int64_t resize_to, int64_t size, const at::Tensor& mean,
                              const at::Tensor& std) {
  check_batch(images, "augment_batch");
  const int64_t n = images.size(0), c = images.size(1);
  if (int64_t(params.size()) != n) throw Error("augment_batch: one parameter set per image needed");
  const bool stored_at_resize = images.size(-1) == resize_to && images.size(-2) == resize_to;
  const at::Tensor source = stored_at_resize ? images : to_float_at(images, resize_to);
  at::Tensor out = at::empty({n, c, size, size}, images.options().dtype(at::kFloat));
  for (int64_t i = 0; i < n; ++i) {
    const SampleAugment& a = params[i];
    at::Tensor crop = source[i].narrow(-2, a.crop.top, a.crop.height).narrow(-1, a.crop.left, a.crop.width);
    if (stored_at_resize) crop = crop.to(at::kFloat).div_(255.0f);
    at::Tensor slot = out.narrow(0, i, 1);
    at::_upsample_bilinear2d_aa_out(slot, crop.unsqueeze(0).contiguous(), {size, size}, false);
    at::Tensor img = out[i];
    if (a.vflip || a.hflip) {
      std::vector<int64_t> dims;
      if (a.vflip) dims.push_back(-2);
      if (a.hflip) dims.push_back(-1);
      img.copy_(img.flip(dims));
    }
    if (a.jitter) {
      at::Tensor x = img;
      for (int op : a.order) {
        switch (op) {
          case 0:
            x = adjust_brightness(x, a.brightness);
            break;
          case 1:
            x = adjust_contrast(x, a.contrast);
            break;
          case 2:
            x = adjust_saturation(x, a.saturation);
            break;
          default:
            x = adjust_hue(x, a.hue);
            break;
        }
      }
      img.copy_(x);
    }
    if (a.grayscale && c == 3) img.copy_(rgb_to_grayscale(img, 3));
  }
  return out.sub_(mean.view({1, c, 1, 1})).div_(std.view({1, c, 1, 1}));
}

at::Tensor eval_batch(const at::Tensor& images, int64_t resize_to, int64_t size, const at::Tensor& mean,
                      const at::Tensor& std) {
  check_batch(images, "eval_batch");
  const int64_t c = images.size(1);
  const bool stored_at_resize = images.size(-1) == resize_to && images.size(-2) == resize_to;
  at::Tensor x = stored_at_resize ? center_crop(images, size).to(at::kFloat).div_(255.0f)
                                  : center_crop(to_float_at(images, resize_to), size).contiguous();
  return x.sub_(mean.view({1, c, 1, 1})).div_(std.view({1, c, 1, 1}));
}

}  // namespace featreuse::data
