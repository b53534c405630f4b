// The training augmentations fused into one pass per step on the CPU: the same
// arithmetic as the ATen path (augment.cpp) and torchvision, without a tensor
// op per step (per-op dispatch and temporaries dominated small images).
// Crop + antialiased bilinear resize uses torch's _upsample_bilinear2d_aa
// weights (width pass, then height pass); flips are folded into the writes.
#include "augment_cpu.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "featreuse/core/error.hpp"

namespace featreuse::data::detail {

namespace {

// Per output index: first input index, tap count and normalised weights
// (torch's _compute_weights_aa for the bilinear filter, align_corners=False).
struct Taps {
  int k = 0;  // weights stored per output (>= every count)
  std::vector<int64_t> start, count;
  std::vector<float> w;
};

Taps taps(int64_t in_size, int64_t out_size) {
  Taps t;
  const float scale = float(in_size) / float(out_size);
  const float support = scale >= 1.0f ? scale : 1.0f;
  const float invscale = scale >= 1.0f ? 1.0f / scale : 1.0f;
  t.k = int(std::ceil(support)) * 2 + 1;
  t.start.resize(out_size);
  t.count.resize(out_size);
  t.w.assign(size_t(out_size) * t.k, 0.0f);
  for (int64_t i = 0; i < out_size; ++i) {
    const float center = float(double(scale) * (double(i) + 0.5));
    const int64_t xmin = std::max<int64_t>(int64_t(double(center) - support + 0.5), 0);
    const int64_t xsize = std::min<int64_t>(int64_t(double(center) + support + 0.5), in_size) - xmin;
    float* w = &t.w[size_t(i) * t.k];
    float total = 0.0f;
    for (int64_t j = 0; j < xsize; ++j) {
      const float x = float((double(float(j + xmin) - center) + 0.5) * invscale);
      const float ax = std::fabs(x);
      w[j] = ax < 1.0f ? 1.0f - ax : 0.0f;
      total += w[j];
    }
    if (total != 0.0f)
      for (int64_t j = 0; j < xsize; ++j) w[j] /= total;
    t.start[i] = xmin;
    t.count[i] = xsize;
  }
  return t;
}

// Taps of a crop starting at `offset`: input indices shifted into the image.
Taps shifted(Taps t, int64_t offset) {
  for (auto& s : t.start) s += offset;
  return t;
}

// Resampling by `outer` (over a crop at `offset` of an image made by `inner`)
// as one resampling of inner's input: the composition of two linear maps, so
// equal to resizing first and cropping second up to float rounding.
Taps compose(const Taps& outer, int64_t offset, const Taps& inner) {
  const int64_t n = int64_t(outer.start.size());
  Taps t;
  std::vector<int64_t> first(n), last(n);
  for (int64_t i = 0; i < n; ++i) {
    first[i] = INT64_MAX;
    last[i] = 0;
    for (int64_t j = 0; j < outer.count[i]; ++j) {
      const int64_t mid = offset + outer.start[i] + j;
      first[i] = std::min(first[i], inner.start[mid]);
      last[i] = std::max(last[i], inner.start[mid] + inner.count[mid]);
    }
    t.k = std::max<int>(t.k, int(last[i] - first[i]));
  }
  t.start = first;
  t.count.resize(n);
  t.w.assign(size_t(n) * t.k, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    t.count[i] = last[i] - first[i];
    float* w = &t.w[size_t(i) * t.k];
    for (int64_t j = 0; j < outer.count[i]; ++j) {
      const int64_t mid = offset + outer.start[i] + j;
      const float a = outer.w[size_t(i) * outer.k + j];
      for (int64_t l = 0; l < inner.count[mid]; ++l)
        w[inner.start[mid] + l - first[i]] += a * inner.w[size_t(mid) * inner.k + l];
    }
  }
  return t;
}

inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

// Separable resampling of one C x H x W image into `out` (C x size x size)
// with taps over absolute input indices; flips are folded into the writes.
// The height pass runs first (it vectorises along rows and converts each
// pixel once); torch goes width first: the sums differ only by float rounding.
template <typename T>
void resample(const T* src, int64_t c, int64_t height, int64_t width, float in_scale, const Taps& tx,
              const Taps& ty, int64_t size, bool vflip, bool hflip, float* out, std::vector<float>& tmp) {
  int64_t x0 = width, x1 = 0;
  for (int64_t x = 0; x < size; ++x) {
    x0 = std::min(x0, tx.start[x]);
    x1 = std::max(x1, tx.start[x] + tx.count[x]);
  }
  const int64_t cw = x1 - x0;
  tmp.resize(size_t(size) * cw);
  for (int64_t ch = 0; ch < c; ++ch) {
    const T* plane = src + size_t(ch) * height * width + x0;
    float* o = out + size_t(ch) * size * size;
    for (int64_t y = 0; y < size; ++y) {
      float* trow = tmp.data() + size_t(y) * cw;
      const float* w = &ty.w[size_t(y) * ty.k];
      const T* first = plane + size_t(ty.start[y]) * width;
      for (int64_t x = 0; x < cw; ++x) trow[x] = 0.0f;
      for (int64_t j = 0; j < ty.count[y]; ++j) {
        const float wj = w[j] * in_scale;
        const T* r = first + size_t(j) * width;
        for (int64_t x = 0; x < cw; ++x) trow[x] += wj * float(r[x]);
      }
    }
    for (int64_t y = 0; y < size; ++y) {
      const float* trow = tmp.data() + size_t(y) * cw - x0;
      float* orow = o + size_t(vflip ? size - 1 - y : y) * size;
      for (int64_t x = 0; x < size; ++x) {
        const float* p = trow + tx.start[x];
        const float* w = &tx.w[size_t(x) * tx.k];
        float acc = 0.0f;
        for (int64_t j = 0; j < tx.count[x]; ++j) acc += w[j] * p[j];
        orow[hflip ? size - 1 - x : x] = acc;
      }
    }
  }
}

inline float gray_of(float r, float g, float b) { return 0.2989f * r + 0.587f * g + 0.114f * b; }

void brightness(float* x, size_t n, float f) {
  for (size_t i = 0; i < n; ++i) x[i] = clamp01(x[i] * f);
}

void contrast(float* x, int64_t c, size_t plane, float f) {
  double sum = 0.0;
  if (c == 3) {
    for (size_t i = 0; i < plane; ++i) sum += gray_of(x[i], x[plane + i], x[2 * plane + i]);
  } else {
    for (size_t i = 0; i < plane; ++i) sum += x[i];
  }
  const float mean = float(sum / double(plane));
  const float rest = (1.0f - f) * mean;
  for (size_t i = 0; i < size_t(c) * plane; ++i) x[i] = clamp01(x[i] * f + rest);
}

void saturation(float* x, size_t plane, float f) {
  float *r = x, *g = x + plane, *b = x + 2 * plane;
  for (size_t i = 0; i < plane; ++i) {
    const float l = gray_of(r[i], g[i], b[i]) * (1.0f - f);
    r[i] = clamp01(r[i] * f + l);
    g[i] = clamp01(g[i] * f + l);
    b[i] = clamp01(b[i] * f + l);
  }
}

// torchvision's _rgb2hsv, hue shift, _hsv2rgb, per pixel.
void hue(float* x, size_t plane, float factor) {
  float *rp = x, *gp = x + plane, *bp = x + 2 * plane;
  for (size_t i = 0; i < plane; ++i) {
    const float r = rp[i], g = gp[i], b = bp[i];
    const float maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
    const bool eqc = maxc == minc;
    const float cr = maxc - minc;
    const float s = cr / (eqc ? 1.0f : maxc);
    const float div = eqc ? 1.0f : cr;
    const float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    float h;
    if (maxc == r)
      h = bc - gc;
    else if (maxc == g)
      h = 2.0f + rc - bc;
    else
      h = 4.0f + gc - rc;
    h = h / 6.0f + 1.0f;  // in [0.5, 2): fmod(h, 1) is exactly h - floor(h)
    h = h - std::floor(h);
    h = h + factor;
    h = h - std::floor(h);  // Python's % 1.0 (remainder)
    if (h >= 1.0f) h = 0.0f;
    const float v = maxc;
    const float fi = std::floor(h * 6.0f);
    const float f = h * 6.0f - fi;
    int k = int(fi) % 6;
    if (k < 0) k += 6;
    const float p = clamp01(v * (1.0f - s)), q = clamp01(v * (1.0f - s * f)),
                t = clamp01(v * (1.0f - s * (1.0f - f)));
    float ro, go, bo;
    switch (k) {
      case 0:
        ro = v;
        go = t;
        bo = p;
        break;
      case 1:
        ro = q;
        go = v;
        bo = p;
        break;
      case 2:
        ro = p;
        go = v;
        bo = t;
        break;
      case 3:
        ro = p;
        go = q;
        bo = v;
        break;
      case 4:
        ro = t;
        go = p;
        bo = v;
        break;
      default:
        ro = v;
        go = p;
        bo = q;
        break;
    }
    rp[i] = ro;
    gp[i] = go;
    bp[i] = bo;
  }
}

void grayscale(float* x, size_t plane) {
  for (size_t i = 0; i < plane; ++i) {
    const float l = gray_of(x[i], x[plane + i], x[2 * plane + i]);
    x[i] = x[plane + i] = x[2 * plane + i] = l;
  }
}

}  // namespace

void augment_batch_cpu(const at::Tensor& source, int64_t resize_to, const std::vector<SampleAugment>& params,
                       int64_t size, const std::vector<float>& mean, const std::vector<float>& std,
                       at::Tensor& out) {
  const at::Tensor src = source.contiguous();
  const int64_t n = src.size(0), c = src.size(1), h = src.size(2), w = src.size(3);
  if (!out.is_contiguous() || out.scalar_type() != at::kFloat || out.size(0) != n || out.size(1) != c)
    throw Error("augment_batch_cpu: bad output tensor");
  if (src.scalar_type() != at::kByte) throw Error("augment_batch_cpu: expected uint8 images");
  const size_t plane = size_t(size) * size;
  const bool stored_at_resize = h == resize_to && w == resize_to;
  // Stored at another side (PCam's 96): the reference's Resize((256, 256)) is
  // composed into each sample's crop + resize.
  const Taps up_x = stored_at_resize ? Taps{} : taps(w, resize_to);
  const Taps up_y = stored_at_resize ? Taps{} : taps(h, resize_to);
  std::vector<float> tmp;
  float* dst = out.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const SampleAugment& a = params[i];
    if (a.crop.top < 0 || a.crop.left < 0 || a.crop.height <= 0 || a.crop.width <= 0 ||
        a.crop.top + a.crop.height > resize_to || a.crop.left + a.crop.width > resize_to)
      throw Error("augment_batch: crop box outside the image");
    float* x = dst + size_t(i) * c * plane;
    const uint8_t* image = src.data_ptr<uint8_t>() + size_t(i) * c * h * w;
    const Taps crop_x = taps(a.crop.width, size), crop_y = taps(a.crop.height, size);
    const Taps tx = stored_at_resize ? shifted(crop_x, a.crop.left) : compose(crop_x, a.crop.left, up_x);
    const Taps ty = stored_at_resize ? shifted(crop_y, a.crop.top) : compose(crop_y, a.crop.top, up_y);
    resample(image, c, h, w, 1.0f / 255.0f, tx, ty, size, a.vflip, a.hflip, x, tmp);
    if (a.jitter) {
      for (int op : a.order) {
        switch (op) {
          case 0:
            brightness(x, size_t(c) * plane, float(a.brightness));
            break;
          case 1:
            contrast(x, c, plane, float(a.contrast));
            break;
          case 2:
            if (c == 3) saturation(x, plane, float(a.saturation));
            break;
          default:
            if (c == 3) hue(x, plane, float(a.hue));
            break;
        }
      }
    }
    if (a.grayscale && c == 3) grayscale(x, plane);
    for (int64_t ch = 0; ch < c; ++ch) {
      const float m = mean[ch], inv = 1.0f / std[ch];
      float* p = x + size_t(ch) * plane;
      for (size_t k = 0; k < plane; ++k) p[k] = (p[k] - m) * inv;
    }
  }
}

}  // namespace featreuse::data::detail
