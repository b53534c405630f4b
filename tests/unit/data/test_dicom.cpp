// DICOM decoding (GDCM): stored values round-trip through the writer, the
// 8-bit rule's edge cases, and errors that name the file (and the transfer
// syntax). Pixel-for-pixel agreement with an independent numpy decoding of
// pydicom- and gdcmconv-written files is tests/oracles/dicom_oracle.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>

#include "data_test_util.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/data/dicom.hpp"

using namespace featreuse::data;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const featreuse::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Dicom, WrittenValuesReadBackWithRescaleAndPhotometric) {
  data_test::TempDir dir("dicom");
  const int w = 7, h = 5;
  std::vector<uint16_t> stored(w * h);
  for (size_t i = 0; i < stored.size(); ++i) stored[i] = uint16_t((i * 131) % 4096);
  DicomWriteOptions options;
  options.bits_stored = 12;
  options.monochrome1 = true;
  options.slope = 0.5;
  options.intercept = -1024;
  write_dicom(dir / "a.dcm", stored, w, h, options);
  const std::string bytes = read_bytes(dir / "a.dcm");
  ASSERT_TRUE(is_dicom(u8(bytes), bytes.size()));
  const DicomPixels p = read_dicom(u8(bytes), bytes.size(), "a.dcm");
  EXPECT_EQ(p.width, w);
  EXPECT_EQ(p.height, h);
  EXPECT_EQ(p.bits_allocated, 16);
  EXPECT_EQ(p.bits_stored, 12);
  EXPECT_FALSE(p.is_signed);
  EXPECT_TRUE(p.monochrome1);
  EXPECT_EQ(p.slope, 0.5);
  EXPECT_EQ(p.intercept, -1024);
  EXPECT_EQ(p.transfer_syntax, "1.2.840.10008.1.2.1");
  ASSERT_EQ(p.values.size(), stored.size());
  for (size_t i = 0; i < stored.size(); ++i) EXPECT_EQ(p.values[i], stored[i]) << i;
  // The file through decode_image_file: 8 bits, 3 channels on request, inverted (MONOCHROME1).
  DecodeOptions rgb;
  rgb.channels = 3;
  const Image image = decode_image_file(dir / "a.dcm", rgb);
  ASSERT_EQ(image.channels, 3);
  const auto [lo, hi] = std::minmax_element(stored.begin(), stored.end());
  for (size_t i = 0; i < stored.size(); ++i) {
    const int want = int(std::floor(255.0 * (*hi - stored[i]) / (*hi - *lo) + 0.5));
    EXPECT_EQ(image.pixels[3 * i], want) << i;
    EXPECT_EQ(image.pixels[3 * i + 2], want) << i;
  }
}

TEST(Dicom, EightBitRule) {
  DicomPixels p;
  p.width = 5;
  p.height = 1;
  p.values = {-10, -9, 0, 5, 10};  // range 20: 255 * k / 20 = 12.75 k
  EXPECT_EQ(dicom_to_8bit(p), (std::vector<uint8_t>{0, 13, 128, 191, 255}));
  p.slope = -3;  // a negative slope flips, as MONOCHROME1 does
  EXPECT_EQ(dicom_to_8bit(p), (std::vector<uint8_t>{255, 242, 128, 64, 0}));
  p.monochrome1 = true;  // both: flipped twice
  EXPECT_EQ(dicom_to_8bit(p), (std::vector<uint8_t>{0, 13, 128, 191, 255}));
  p.values = {7, 7, 7, 7, 7};  // constant: 0
  EXPECT_EQ(dicom_to_8bit(p), std::vector<uint8_t>(5, 0));
  p.values = {0, 1, 2, 2, 2};  // exact halves round up: 127.5 -> 128
  p.slope = 1;
  p.monochrome1 = false;
  EXPECT_EQ(dicom_to_8bit(p), (std::vector<uint8_t>{0, 128, 255, 255, 255}));
}

TEST(Dicom, ErrorsNameTheFile) {
  data_test::TempDir dir("dicom-errors");
  write_dicom(dir / "b.dcm", std::vector<uint16_t>(64 * 64, 100), 64, 64, DicomWriteOptions{});
  const std::string bytes = read_bytes(dir / "b.dcm");
  // Truncated inside the pixel data.
  std::string message = error_of([&] { read_dicom(u8(bytes), bytes.size() - 4000, "b.dcm"); });
  EXPECT_NE(message.find("'b.dcm'"), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  // Cut anywhere: an error naming the file, never an abort (Debian's GDCM asserts on some cut headers).
  for (size_t n = 0; n < bytes.size(); n += n < 1024 ? 1 : 97) {
    message = error_of([&] { read_dicom(u8(bytes), n, "c.dcm"); });
    ASSERT_NE(message.find("'c.dcm'"), std::string::npos) << n << ": " << message;
  }
  // A .dcm that is not DICOM at all, through decode_image_file.
  std::ofstream(dir / "d.dcm") << "hello, not a DICOM file";
  message = error_of([&] { decode_image_file(dir / "d.dcm", DecodeOptions{}); });
  EXPECT_NE(message.find("d.dcm"), std::string::npos) << message;
  // By content: the DICOM magic sends bytes to GDCM whatever the name.
  EXPECT_TRUE(is_dicom(u8(bytes), bytes.size()));
  EXPECT_FALSE(is_dicom(u8(bytes), 131));
  const Image ok = decode_image(u8(bytes), bytes.size(), DecodeOptions{}, "no-extension");
  EXPECT_EQ(ok.width, 64);
}
