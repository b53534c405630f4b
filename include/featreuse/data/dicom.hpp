#pragma once
// DICOM images (GDCM): a single-frame grayscale image's stored pixels, with its
// modality rescale and MONOCHROME1 inversion, brought to 8 bits by the per-image
// min-max rule (docs/datasets.md, "DICOM"). Used by `prepare` through
// decode_image, like PNG and JPEG.
#include <cstdint>
#include <string>
#include <vector>

#include "featreuse/data/image.hpp"

namespace featreuse::data {

// True if `data` has the DICOM part-10 preamble (the bytes "DICM" at offset 128).
bool is_dicom(const uint8_t* data, size_t size);

// The stored pixels of a DICOM image before the 8-bit rule.
struct DicomPixels {
  int width = 0, height = 0;
  int bits_allocated = 0, bits_stored = 0;
  bool is_signed = false;
  bool monochrome1 = false;
  double slope = 1, intercept = 0;  // (0028,1053) and (0028,1052); 1 and 0 when absent
  std::string transfer_syntax;      // UID, e.g. 1.2.840.10008.1.2.1
  std::vector<int32_t> values;      // row-major stored values (masked to bits_stored, sign-extended)
};

// Decodes the file's pixel data (uncompressed or any compressed transfer
// syntax GDCM can decode). Throws featreuse::Error naming `name`, and the
// transfer syntax's UID and name when it cannot be decoded.
DicomPixels read_dicom(const uint8_t* data, size_t size, const std::string& name);

// The 8-bit rule on stored values: with r = slope * v + intercept, and r
// negated for MONOCHROME1, out = floor(255 * (r - min r) / (max r - min r) + 1/2)
// over the image (0 everywhere when the image is constant). Computed exactly
// in integers (min-max is invariant under the affine rescale up to its sign).
std::vector<uint8_t> dicom_to_8bit(const DicomPixels& pixels);

// read_dicom + dicom_to_8bit as an 8-bit image with `channels` (1 or 3).
Image decode_dicom(const uint8_t* data, size_t size, int channels, const std::string& name);

// ---- writing (dicom_write.cpp), for synthetic datasets and tests ----

struct DicomWriteOptions {
  int bits_stored = 16;  // of 16 allocated, unsigned
  bool monochrome1 = false;
  double slope = 1, intercept = 0;  // written when not 1 and 0
  // Empty: GDCM makes them up.
  std::string study_uid, series_uid, instance_uid;
};

// An uncompressed (explicit VR little endian) Secondary Capture, modality MG,
// of `stored` (row-major width x height values < 2^bits_stored). Throws
// featreuse::Error naming `path`.
void write_dicom(const std::string& path, const std::vector<uint16_t>& stored, int width, int height,
                 const DicomWriteOptions& options);

}  // namespace featreuse::data
