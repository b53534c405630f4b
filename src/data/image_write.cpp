// PNG and JPEG writers for synthetic datasets and tests.
#include <png.h>
#include <turbojpeg.h>

#include <csetjmp>
#include <cstdio>

#include "featreuse/core/error.hpp"
#include "featreuse/data/image.hpp"

namespace featreuse::data {

namespace {

struct PngWrite {
  png_structp png = nullptr;
  png_infop info = nullptr;
  FILE* file = nullptr;
  char message[256] = {0};
  std::vector<png_bytep> rows;
  std::vector<uint8_t> wide;  // 16-bit samples, big-endian
  ~PngWrite() {
    if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
    if (file) std::fclose(file);
  }
};

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* w = static_cast<PngWrite*>(png_get_error_ptr(png));
  std::snprintf(w->message, sizeof w->message, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

bool png_encode(PngWrite& w, const Image& image, int bit_depth, int compression) {
  if (setjmp(png_jmpbuf(w.png))) return false;
  png_init_io(w.png, w.file);
  png_set_compression_level(w.png, compression);
  png_set_IHDR(w.png, w.info, png_uint_32(image.width), png_uint_32(image.height), bit_depth,
               image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(w.png, w.info);
  const size_t row = size_t(image.width) * image.channels;
  w.rows.resize(image.height);
  if (bit_depth == 16) {
    w.wide.resize(image.bytes() * 2);
    for (size_t i = 0; i < image.bytes(); ++i) w.wide[2 * i] = w.wide[2 * i + 1] = image.pixels[i];
    for (int y = 0; y < image.height; ++y) w.rows[y] = w.wide.data() + 2 * row * y;
  } else {
    for (int y = 0; y < image.height; ++y) w.rows[y] = const_cast<png_bytep>(image.pixels.data() + row * y);
  }
  png_write_image(w.png, w.rows.data());
  png_write_end(w.png, nullptr);
  return true;
}

}  // namespace

void write_png(const std::string& path, const Image& image, int bit_depth, int compression) {
  if (image.channels != 1 && image.channels != 3) throw Error("write_png: 1 or 3 channels");
  if (bit_depth != 8 && bit_depth != 16) throw Error("write_png: bit depth 8 or 16");
  PngWrite w;
  w.file = std::fopen(path.c_str(), "wb");
  if (!w.file) throw Error("cannot create '" + path + "'");
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, png_error_fn, nullptr);
  if (!w.png) throw Error("out of memory writing '" + path + "'");
  w.info = png_create_info_struct(w.png);
  if (!w.info) throw Error("out of memory writing '" + path + "'");
  if (!png_encode(w, image, bit_depth, compression)) throw Error("'" + path + "': PNG error: " + w.message);
  const int closed = std::fclose(w.file);
  w.file = nullptr;
  if (closed != 0) throw Error("cannot write '" + path + "'");
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  if (image.channels != 1 && image.channels != 3) throw Error("write_jpeg: 1 or 3 channels");
  tjhandle tj = tjInitCompress();
  if (!tj) throw Error("cannot initialise TurboJPEG");
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  const int subsamp = image.channels == 1 ? TJSAMP_GRAY : TJSAMP_420;
  const int rc = tjCompress2(tj, image.pixels.data(), image.width, 0, image.height, format, &buffer, &size,
                             subsamp, quality, 0);
  const std::string message = rc != 0 ? tjGetErrorStr2(tj) : "";
  tjDestroy(tj);
  if (rc != 0) {
    tjFree(buffer);
    throw Error("'" + path + "': JPEG encoding failed: " + message);
  }
  FILE* file = std::fopen(path.c_str(), "wb");
  const bool ok = file && std::fwrite(buffer, 1, size, file) == size;
  tjFree(buffer);
  if (file && std::fclose(file) != 0) throw Error("cannot write '" + path + "'");
  if (!ok) throw Error("cannot write '" + path + "'");
}

}  // namespace featreuse::data
