// PIL's bilinear resampling (libImaging/Resample.c) re-implemented for 8-bit
// L/RGB images so that prepared caches match the reference's Resize((256, 256)).
#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/data/image.hpp"

namespace featreuse::data {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output pixel: first input index, count
  std::vector<int32_t> kk;  // per output pixel: ksize fixed-point weights
};

double triangle(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// precompute_coeffs + normalize_coeffs_8bpc of Resample.c, box = [0, in_size).
Coeffs coefficients(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;
  Coeffs c;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.bounds.resize(size_t(out_size) * 2);
  c.kk.assign(size_t(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      c.kk[size_t(xx) * c.ksize + x] =
          int32_t(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[2 * xx] = xmin;
    c.bounds[2 * xx + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return uint8_t(v >> kPrecisionBits);
}

// Horizontal pass over rows [row0, row0 + rows) of `in`.
Image horizontal(const Image& in, int out_w, int row0, int rows, const Coeffs& c) {
  Image out;
  out.width = out_w;
  out.height = rows;
  out.channels = in.channels;
  out.pixels.resize(out.bytes());
  const int ch = in.channels;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = in.pixels.data() + size_t(row0 + y) * in.width * ch;
    uint8_t* dst = out.pixels.data() + size_t(y) * out_w * ch;
    for (int xx = 0; xx < out_w; ++xx) {
      const int xmin = c.bounds[2 * xx], xmax = c.bounds[2 * xx + 1];
      const int32_t* k = c.kk.data() + size_t(xx) * c.ksize;
      for (int b = 0; b < ch; ++b) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < xmax; ++x) ss += int32_t(src[(x + xmin) * ch + b]) * k[x];
        dst[xx * ch + b] = clip8(ss);
      }
    }
  }
  return out;
}

// Vertical pass; `first` is the input row that bounds are relative to.
Image vertical(const Image& in, int out_h, int first, const Coeffs& c) {
  Image out;
  out.width = in.width;
  out.height = out_h;
  out.channels = in.channels;
  out.pixels.resize(out.bytes());
  const size_t row = size_t(in.width) * in.channels;
  for (int yy = 0; yy < out_h; ++yy) {
    const int ymin = c.bounds[2 * yy] - first, ymax = c.bounds[2 * yy + 1];
    const int32_t* k = c.kk.data() + size_t(yy) * c.ksize;
    uint8_t* dst = out.pixels.data() + row * yy;
    for (size_t i = 0; i < row; ++i) {
      int32_t ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < ymax; ++y) ss += int32_t(in.pixels[(ymin + y) * row + i]) * k[y];
      dst[i] = clip8(ss);
    }
  }
  return out;
}

}  // namespace

Image resize_bilinear(const Image& in, int width, int height) {
  if (width <= 0 || height <= 0) throw Error("resize to a non-positive size");
  if (in.width <= 0 || in.height <= 0 || in.pixels.size() != in.bytes())
    throw Error("resize of an empty or malformed image");
  const bool need_h = width != in.width, need_v = height != in.height;
  if (!need_h && !need_v) return in;
  const Coeffs ch = coefficients(in.width, width), cv = coefficients(in.height, height);
  // Only the input rows the vertical pass reads go through the horizontal pass.
  const int first = cv.bounds[0];
  const int last = cv.bounds[2 * (height - 1)] + cv.bounds[2 * (height - 1) + 1];
  if (need_h && need_v) return vertical(horizontal(in, width, first, last - first, ch), height, first, cv);
  if (need_h) return horizontal(in, width, 0, in.height, ch);
  return vertical(in, height, 0, cv);
}

}  // namespace featreuse::data
