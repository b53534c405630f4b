// PNG (libpng) and JPEG (TurboJPEG) decoding to 8-bit L or RGB with PIL's
// conversion rules; DICOM goes to dicom_decode.cpp. libpng reports errors by
// longjmp: the setjmp frame below owns no objects with destructors, and
// everything it fills lives in `PngRead`.
#include <png.h>
#include <turbojpeg.h>

#include <cctype>
#include <csetjmp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "featreuse/core/error.hpp"
#include "featreuse/data/dicom.hpp"
#include "featreuse/data/image.hpp"

namespace featreuse::data {

namespace {

struct PngRead {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0, offset = 0;
  char message[256] = {0};
  std::vector<png_bytep> rows;
  ~PngRead() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngRead*>(png_get_error_ptr(png));
  std::snprintf(r->message, sizeof r->message, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

void png_warning_fn(png_structp, png_const_charp) {}  // e.g. bad iCCP profiles: PIL ignores them too

void png_read_fn(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<PngRead*>(png_get_io_ptr(png));
  if (r->offset + n > r->size) png_error(png, "file is truncated");
  std::memcpy(out, r->data + r->offset, n);
  r->offset += n;
}

// Decodes to 8-bit gray or RGB (the file's own kind); returns false with
// r.message set on error.
bool png_decode(PngRead& r, Image& out, bool want_rgb) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_set_read_fn(r.png, &r, png_read_fn);
  png_read_info(r.png, r.info);
  const int color = png_get_color_type(r.png, r.info);
  // PIL reads 16-bit samples by their high byte; palettes and 1/2/4-bit gray
  // expand to 8 bits; alpha is dropped (convert("RGB"/"L") ignores it).
  if (png_get_bit_depth(r.png, r.info) == 16) png_set_strip_16(r.png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r.png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(r.png, r.info) < 8)
    png_set_expand_gray_1_2_4_to_8(r.png);
  if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(r.png);
  const bool gray = color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA;
  if (gray && want_rgb) png_set_gray_to_rgb(r.png);
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  out.width = int(png_get_image_width(r.png, r.info));
  out.height = int(png_get_image_height(r.png, r.info));
  out.channels = int(png_get_channels(r.png, r.info));
  if (png_get_rowbytes(r.png, r.info) != size_t(out.width) * out.channels) {
    std::snprintf(r.message, sizeof r.message, "unexpected PNG row layout");
    return false;
  }
  out.pixels.resize(out.bytes());
  r.rows.resize(out.height);
  for (int y = 0; y < out.height; ++y) r.rows[y] = out.pixels.data() + size_t(y) * out.width * out.channels;
  png_read_image(r.png, r.rows.data());
  png_read_end(r.png, nullptr);
  return true;
}

Image decode_png(const uint8_t* data, size_t size, int channels, const std::string& name) {
  PngRead r;
  r.data = data;
  r.size = size;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_error_fn, png_warning_fn);
  if (!r.png) throw Error("out of memory decoding '" + name + "'");
  r.info = png_create_info_struct(r.png);
  if (!r.info) throw Error("out of memory decoding '" + name + "'");
  Image image;
  if (!png_decode(r, image, channels == 3)) throw Error("'" + name + "': PNG error: " + r.message);
  return convert_channels(image, channels);
}

struct TjHandle {
  tjhandle h = tjInitDecompress();
  ~TjHandle() {
    if (h) tjDestroy(h);
  }
  // A failed decode leaves the handle mid-stream (TurboJPEG 2.1): the next
  // image on this thread would fail with "Invalid argument". A fresh handle
  // keeps one bad file from costing its neighbour.
  [[noreturn]] void fail(const std::string& message) {
    if (h) tjDestroy(h);
    h = tjInitDecompress();
    throw Error(message);
  }
};

Image decode_jpeg(const uint8_t* data, size_t size, const DecodeOptions& options, const std::string& name) {
  // One handle per thread: handles are not thread-safe, and creating one per image is wasteful.
  thread_local TjHandle tj;
  if (!tj.h) throw Error("cannot initialise TurboJPEG");
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.h, data, (unsigned long)size, &width, &height, &subsamp, &colorspace) != 0)
    tj.fail("'" + name + "': JPEG error: " + tjGetErrorStr2(tj.h));
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
    throw Error("'" + name + "': CMYK JPEGs are not supported");
  // DCT-domain downscaling: the smallest M/8 scale that keeps both sides >= the target.
  int out_w = width, out_h = height;
  if (options.min_width > 0 && options.min_height > 0) {
    int n = 0;
    tjscalingfactor* factors = tjGetScalingFactors(&n);
    for (int i = 0; i < n; ++i) {
      const int w = TJSCALED(width, factors[i]), h = TJSCALED(height, factors[i]);
      if (factors[i].num > factors[i].denom) continue;  // never upscale here
      if (w >= options.min_width && h >= options.min_height && w * h < out_w * out_h) {
        out_w = w;
        out_h = h;
      }
    }
  }
  const bool gray_source = colorspace == TJCS_GRAY;
  // Color JPEGs decode to RGB first so that "L" is PIL's formula, not libjpeg's luma.
  const int format = gray_source && options.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  Image image;
  image.width = out_w;
  image.height = out_h;
  image.channels = format == TJPF_GRAY ? 1 : 3;
  image.pixels.resize(image.bytes());
  if (tjDecompress2(tj.h, data, (unsigned long)size, image.pixels.data(), out_w, 0, out_h, format, 0) != 0) {
    // Warnings (e.g. extraneous bytes) still give an image, as in PIL; a
    // truncated file is an error there (and here), not a gray-filled image.
    const std::string message = tjGetErrorStr2(tj.h);
    if (tjGetErrorCode(tj.h) != TJERR_WARNING || message.find("Premature end") != std::string::npos)
      tj.fail("'" + name + "': JPEG error: " + message);
  }
  return convert_channels(image, options.channels);
}

}  // namespace

Image convert_channels(const Image& in, int channels) {
  if (channels != 1 && channels != 3)
    throw Error("images have 1 or 3 channels, not " + std::to_string(channels));
  if (in.channels == channels) return in;
  Image out;
  out.width = in.width;
  out.height = in.height;
  out.channels = channels;
  out.pixels.resize(out.bytes());
  const size_t n = size_t(in.width) * in.height;
  const uint8_t* src = in.pixels.data();
  uint8_t* dst = out.pixels.data();
  if (in.channels == 3 && channels == 1) {
    for (size_t i = 0; i < n; ++i, src += 3)
      dst[i] = uint8_t((src[0] * 19595u + src[1] * 38470u + src[2] * 7471u + 0x8000u) >> 16);
  } else if (in.channels == 1 && channels == 3) {
    for (size_t i = 0; i < n; ++i, dst += 3) dst[0] = dst[1] = dst[2] = src[i];
  } else {
    throw Error("cannot convert a " + std::to_string(in.channels) + "-channel image");
  }
  return out;
}

Image decode_image(const uint8_t* data, size_t size, const DecodeOptions& options, const std::string& name) {
  if (options.channels != 1 && options.channels != 3)
    throw Error("images are decoded to 1 or 3 channels, not " + std::to_string(options.channels));
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::memcmp(data, png_sig, 8) == 0) return decode_png(data, size, options.channels, name);
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return decode_jpeg(data, size, options, name);
  if (is_dicom(data, size)) return decode_dicom(data, size, options.channels, name);
  if (size == 0) throw Error("'" + name + "' is empty");
  throw Error("'" + name + "' is neither a PNG, a JPEG nor a DICOM file");
}

Image decode_image_file(const std::string& path, const DecodeOptions& options) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot open image '" + path + "'");
  const std::streamsize size = in.tellg();
  if (size < 0) throw Error("cannot read image '" + path + "'");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw Error("cannot read image '" + path + "'");
  // A .dcm without the part-10 preamble is still DICOM (GDCM reads it); by content otherwise.
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".dcm" && !bytes.empty())
    return decode_dicom(bytes.data(), bytes.size(), options.channels, path);
  return decode_image(bytes.data(), bytes.size(), options, path);
}

}  // namespace featreuse::data
