#pragma once
// 8-bit images in memory (height x width x channels, interleaved), PNG/JPEG
// decoding with PIL's conversion rules (libpng, libjpeg-turbo's TurboJPEG), and
// PIL-exact bilinear resizing. Used by `prepare` and `synth`, never in training.
#include <cstdint>
#include <string>
#include <vector>

namespace featreuse::data {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 (PIL "L") or 3 ("RGB")
  std::vector<uint8_t> pixels;              // row-major, channels interleaved
  size_t bytes() const { return size_t(width) * height * channels; }
};

struct DecodeOptions {
  int channels = 3;  // 1: like PIL's convert("L"); 3: like convert("RGB")
  // > 0: a JPEG may be decoded at a reduced DCT-domain scale (M/8) as long as
  // both sides stay >= these (the size the image will be resized to next).
  int min_width = 0, min_height = 0;
};

// Decodes PNG, JPEG or DICOM (by content, not name; a .dcm file without the
// DICOM preamble too, see dicom.hpp). Throws featreuse::Error naming
// `name` on anything unreadable, truncated or unsupported.
Image decode_image(const uint8_t* data, size_t size, const DecodeOptions& options, const std::string& name);
Image decode_image_file(const std::string& path, const DecodeOptions& options);

// PIL's convert(): RGB -> L uses L = (19595 R + 38470 G + 7471 B + 2^15) >> 16;
// L -> RGB replicates.
Image convert_channels(const Image& in, int channels);

// PIL's Image.resize((width, height), Image.BILINEAR) on L/RGB images, bit for
// bit: separable triangle filter widened by the scale when downscaling
// (antialiasing), 22-bit fixed-point weights, horizontal pass first, each pass
// rounded to 8 bits.
Image resize_bilinear(const Image& in, int width, int height);

// Writers, for synthetic datasets and tests. bit_depth 16 stores v * 257.
void write_png(const std::string& path, const Image& image, int bit_depth = 8, int compression = 6);
void write_jpeg(const std::string& path, const Image& image, int quality = 90);

}  // namespace featreuse::data
