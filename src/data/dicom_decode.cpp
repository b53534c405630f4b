// DICOM decoding with GDCM (libgdcm-dev; docs/datasets.md says why GDCM and
// not DCMTK): the pixel data as stored, decompressed by GDCM's codecs (JPEG
// baseline/extended/lossless, JPEG-LS, JPEG 2000, RLE, deflate), then the 8-bit
// rule. Everything GDCM reports is turned into a featreuse::Error that names
// the file and its transfer syntax.
#include <gdcmAttribute.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmImageReader.h>
#include <gdcmTransferSyntax.h>
#include <gdcmUIDs.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/data/dicom.hpp"
#include "gdcm_quiet.hpp"

namespace featreuse::data {

namespace {

std::string trimmed(const char* data, size_t size) {
  std::string s(data, size);
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

// The (0002,0010) UID as written in the file ("" when absent).
std::string transfer_syntax_uid(const gdcm::File& file) {
  const gdcm::FileMetaInformation& meta = file.GetHeader();
  const gdcm::Tag tag(0x0002, 0x0010);
  if (!meta.FindDataElement(tag)) return "";
  const gdcm::ByteValue* value = meta.GetDataElement(tag).GetByteValue();
  return value ? trimmed(value->GetPointer(), value->GetLength()) : "";
}

// "1.2.840.10008.1.2.4.90 (JPEG 2000 Image Compression (Lossless Only))".
std::string describe_syntax(const std::string& uid) {
  if (uid.empty()) return "no transfer syntax in its meta header";
  gdcm::UIDs known;
  if (known.SetFromUID(uid.c_str()) && known.GetName()) return uid + " (" + known.GetName() + ")";
  return uid + " (not a transfer syntax GDCM knows)";
}

// Whether GDCM 3.0 has a decoder for the syntax (video, JPIP and unknown ones: no).
bool gdcm_decodes(const std::string& uid) {
  using T = gdcm::TransferSyntax;
  switch (T::GetTSType(uid.c_str())) {
    case T::ImplicitVRLittleEndian:
    case T::ImplicitVRBigEndianPrivateGE:
    case T::ExplicitVRLittleEndian:
    case T::DeflatedExplicitVRLittleEndian:
    case T::ExplicitVRBigEndian:
    case T::JPEGBaselineProcess1:
    case T::JPEGExtendedProcess2_4:
    case T::JPEGExtendedProcess3_5:
    case T::JPEGSpectralSelectionProcess6_8:
    case T::JPEGFullProgressionProcess10_12:
    case T::JPEGLosslessProcess14:
    case T::JPEGLosslessProcess14_1:
    case T::JPEGLSLossless:
    case T::JPEGLSNearLossless:
    case T::JPEG2000Lossless:
    case T::JPEG2000:
    case T::JPEG2000Part2Lossless:
    case T::JPEG2000Part2:
    case T::RLELossless:
      return true;
    default:
      return false;
  }
}

// A decimal string element, or `fallback` when absent or empty.
double decimal(const gdcm::DataSet& ds, uint16_t element, double fallback, const std::string& name) {
  const gdcm::Tag tag(0x0028, element);
  if (!ds.FindDataElement(tag)) return fallback;
  const gdcm::ByteValue* value = ds.GetDataElement(tag).GetByteValue();
  if (!value) return fallback;
  std::string text = trimmed(value->GetPointer(), value->GetLength());
  text.erase(0, text.find_first_not_of(' '));
  if (text.empty()) return fallback;
  const size_t backslash = text.find('\\');  // multi-valued: the first value
  if (backslash != std::string::npos) text.resize(backslash);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(v))
    throw Error(std::string("DICOM file whose (0028,") +
                (element == 0x1052 ? "1052) Rescale Intercept" : "1053) Rescale Slope") + " is '" + text +
                "', not a number: '" + name + "'");
  return v;
}

// Debian's GDCM is built with assertions: some truncated or malformed headers
// abort the process inside Reader::Read, and pixel data cut short is read
// without complaint. Before GDCM sees a file, this walks its elements (the
// part-10 meta header, then the data set in implicit or explicit VR little
// endian, sequences and encapsulated fragments included) and says why it is
// truncated or malformed. It gives up silently (leaving the file to GDCM) on
// what it does not follow: big endian, deflate, no meta header, odd nesting.
class Walk {
 public:
  Walk(const uint8_t* data, size_t size) : d_(data), n_(size) {}

  // "" when whole (or not followed), else why not.
  std::string problem() {
    try {
      size_t at = is_dicom(d_, n_) ? 132 : 0;
      if (at == 0 && !(n_ >= 8 && u16(0) == 0x0002 && vr_letters(4))) return "";  // no meta header
      std::string syntax;
      while (at + 4 <= n_ && u16(at) == 0x0002) {
        const size_t start = at;
        const uint32_t length = header(at, n_, true);
        if (length == kUndefined) throw GiveUp{};
        fits(start, at, length, n_);
        if (u16(start + 2) == 0x0010) syntax = trimmed(reinterpret_cast<const char*>(d_ + at), length);
        at += length;
      }
      if (at >= n_) return "ends after its meta header (no data set)";
      if (syntax == "1.2.840.10008.1.2.2" || syntax == "1.2.840.10008.1.2.1.99")
        return "";  // big endian, deflate
      dataset(at, n_, syntax != "1.2.840.10008.1.2", false, 0);
      return "";
    } catch (const GiveUp&) {
      return "";
    } catch (const Bad& bad) {
      return bad.why;
    }
  }

 private:
  struct GiveUp {};
  struct Bad {
    std::string why;
  };
  static constexpr uint32_t kUndefined = 0xffffffffu;

  uint16_t u16(size_t at) const { return uint16_t(d_[at] | (d_[at + 1] << 8)); }
  uint32_t u32(size_t at) const { return uint32_t(u16(at)) | (uint32_t(u16(at + 2)) << 16); }
  bool vr_letters(size_t at) const {
    return d_[at] >= 'A' && d_[at] <= 'Z' && d_[at + 1] >= 'A' && d_[at + 1] <= 'Z';
  }
  static std::string tag_text(uint16_t group, uint16_t element) {
    char text[16];
    std::snprintf(text, sizeof text, "(%04X,%04X)", group, element);
    return text;
  }

  // Reads an element header at `at` (advanced past it); returns the value length.
  uint32_t header(size_t& at, size_t end, bool explicit_vr) {
    if (at + 8 > end) throw Bad{"ends inside an element header at byte " + std::to_string(at)};
    if (!explicit_vr || u16(at) == 0xfffe) {
      const uint32_t length = u32(at + 4);
      at += 8;
      return length;
    }
    if (!vr_letters(at + 4)) throw GiveUp{};
    const std::string vr(reinterpret_cast<const char*>(d_ + at + 4), 2);
    static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                        "SV", "UC", "UN", "UR", "UT", "UV"};
    if (std::find(std::begin(kLong), std::end(kLong), vr) != std::end(kLong)) {
      if (at + 12 > end) throw Bad{"ends inside an element header at byte " + std::to_string(at)};
      const uint32_t length = u32(at + 8);
      at += 12;
      return length;
    }
    const uint32_t length = u16(at + 6);
    at += 8;
    return length;
  }

  void fits(size_t start, size_t at, uint32_t length, size_t end) const {
    if (length > end - at)
      throw Bad{"is truncated: element " + tag_text(u16(start), u16(start + 2)) + " at byte " +
                std::to_string(start) + " holds " + std::to_string(length) + " bytes, " +
                std::to_string(end - at) + " are left" +
                (end == n_ ? " in the file (" + std::to_string(n_) + " bytes)" : " in its sequence item")};
  }

  // Elements from `at` to `end`; in an item of undefined length, up to its delimiter.
  void dataset(size_t& at, size_t end, bool explicit_vr, bool in_item, int depth) {
    if (depth > 16) throw GiveUp{};
    while (at < end) {
      const size_t start = at;
      const uint16_t group = u16(at), element = at + 4 <= end ? u16(at + 2) : 0;
      const uint32_t length = header(at, end, explicit_vr);
      if (group == 0xfffe) {
        if (in_item && element == 0xe00d) return;
        throw GiveUp{};
      }
      if (length == kUndefined) {
        items(at, end, explicit_vr, group == 0x7fe0 && element == 0x0010, depth);
        continue;
      }
      fits(start, at, length, end);
      at += length;
    }
    if (in_item) throw Bad{"is truncated: it ends inside a sequence item"};
  }

  // Items (or encapsulated fragments) up to the sequence delimiter.
  void items(size_t& at, size_t end, bool explicit_vr, bool fragments, int depth) {
    while (true) {
      if (at + 8 > end)
        throw Bad{std::string("is truncated: it ends inside ") +
                  (fragments ? "encapsulated pixel data" : "a sequence")};
      const size_t start = at;
      const uint16_t group = u16(at), element = u16(at + 2);
      const uint32_t length = u32(at + 4);
      at += 8;
      if (group != 0xfffe) throw GiveUp{};
      if (element == 0xe0dd) return;
      if (element != 0xe000) throw GiveUp{};
      if (length == kUndefined) {
        if (fragments) throw GiveUp{};
        dataset(at, end, explicit_vr, true, depth + 1);
      } else {
        fits(start, at, length, end);
        at += length;
      }
    }
  }

  const uint8_t* d_;
  size_t n_;
};

}  // namespace

bool is_dicom(const uint8_t* data, size_t size) {
  return size >= 132 && std::memcmp(data + 128, "DICM", 4) == 0;
}

DicomPixels read_dicom(const uint8_t* data, size_t size, const std::string& name) {
  quiet_gdcm();
  const std::string problem = Walk(data, size).problem();
  // Reasons first: a cache keeps 240 bytes of a skipped item's reason, after its source.
  if (!problem.empty()) throw Error("DICOM file " + problem + ": '" + name + "'");
  std::istringstream stream(std::string(reinterpret_cast<const char*>(data), size));
  gdcm::ImageReader reader;
  reader.SetStream(stream);
  const bool read = reader.Read();
  const std::string uid = transfer_syntax_uid(reader.GetFile());
  auto fail = [&](const std::string& reason) {
    return Error("DICOM file " + reason + ": '" + name + "' (transfer syntax " + describe_syntax(uid) + ")");
  };
  if (!uid.empty() && !gdcm_decodes(uid))
    throw Error("DICOM transfer syntax " + describe_syntax(uid) + " is not one GDCM decodes: '" + name + "'");
  if (!read) throw fail("that GDCM cannot read as an image (not an image, or damaged)");
  const gdcm::Image& image = reader.GetImage();
  const gdcm::PixelFormat& format = image.GetPixelFormat();
  const unsigned int* dims = image.GetDimensions();
  DicomPixels out;
  out.transfer_syntax = uid;
  if (image.GetNumberOfDimensions() == 3 && dims[2] > 1)
    throw fail("with " + std::to_string(dims[2]) + " frames; only single-frame images are read");
  if (format.GetSamplesPerPixel() != 1)
    throw fail("with " + std::to_string(format.GetSamplesPerPixel()) +
               " samples per pixel; only grayscale (MONOCHROME1/2) images are read");
  const gdcm::PhotometricInterpretation photometric = image.GetPhotometricInterpretation();
  if (photometric != gdcm::PhotometricInterpretation::MONOCHROME1 &&
      photometric != gdcm::PhotometricInterpretation::MONOCHROME2)
    throw fail("with photometric interpretation '" +
               std::string(photometric.GetString() ? photometric.GetString() : "?") +
               "'; only MONOCHROME1 and MONOCHROME2 are read");
  out.monochrome1 = photometric == gdcm::PhotometricInterpretation::MONOCHROME1;
  out.width = int(dims[0]);
  out.height = int(dims[1]);
  out.bits_allocated = format.GetBitsAllocated();
  out.bits_stored = format.GetBitsStored();
  out.is_signed = format.GetPixelRepresentation() == 1;
  if (out.bits_allocated != 8 && out.bits_allocated != 16)
    throw fail("with " + std::to_string(out.bits_allocated) + " bits allocated; 8 and 16 are read");
  if (out.bits_stored < 1 || out.bits_stored > out.bits_allocated)
    throw fail("with " + std::to_string(out.bits_stored) + " bits stored in " +
               std::to_string(out.bits_allocated));
  if (out.width <= 0 || out.height <= 0) throw fail("with an image of size 0");
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  if (ds.FindDataElement(gdcm::Tag(0x0028, 0x3000)))
    throw fail("with a Modality LUT Sequence (0028,3000), which is not supported");
  out.slope = decimal(ds, 0x1053, 1.0, name);
  out.intercept = decimal(ds, 0x1052, 0.0, name);
  const size_t n = size_t(out.width) * out.height, bytes = n * size_t(out.bits_allocated / 8);
  if (image.GetBufferLength() < bytes)
    throw fail("whose pixel data holds " + std::to_string(image.GetBufferLength()) + " bytes, " +
               std::to_string(out.width) + " x " + std::to_string(out.height) + " needs " +
               std::to_string(bytes));
  std::vector<char> buffer(image.GetBufferLength());
  if (!image.GetBuffer(buffer.data())) throw fail("whose pixel data GDCM cannot decode (damaged)");
  // Stored values: the low bits_stored bits of each sample (the rest may hold
  // overlays), sign-extended for signed data. GDCM gives samples in host order.
  out.values.resize(n);
  const uint32_t mask = out.bits_stored == 32 ? 0xffffffffu : (1u << out.bits_stored) - 1u;
  const uint32_t sign = 1u << (out.bits_stored - 1);
  for (size_t i = 0; i < n; ++i) {
    uint32_t raw;
    if (out.bits_allocated == 8) {
      raw = uint8_t(buffer[i]);
    } else {
      uint16_t v;
      std::memcpy(&v, buffer.data() + 2 * i, 2);
      raw = v;
    }
    raw &= mask;
    out.values[i] = out.is_signed && (raw & sign) ? int32_t(raw) - int32_t(mask) - 1 : int32_t(raw);
  }
  return out;
}

std::vector<uint8_t> dicom_to_8bit(const DicomPixels& pixels) {
  std::vector<uint8_t> out(pixels.values.size(), 0);
  if (pixels.values.empty() || pixels.slope == 0) return out;
  const auto [lo_it, hi_it] = std::minmax_element(pixels.values.begin(), pixels.values.end());
  const int64_t lo = *lo_it, hi = *hi_it, range = hi - lo;
  if (range == 0) return out;
  // r = slope * v + intercept is affine: its min-max normalisation is that of
  // v, flipped when the slope is negative; MONOCHROME1 flips it once more.
  const bool flip = pixels.monochrome1 != (pixels.slope < 0);
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t v = pixels.values[i], num = flip ? hi - v : v - lo;
    out[i] = uint8_t((510 * num + range) / (2 * range));  // round half up of 255 * num / range
  }
  return out;
}

Image decode_dicom(const uint8_t* data, size_t size, int channels, const std::string& name) {
  const DicomPixels pixels = read_dicom(data, size, name);
  Image image;
  image.width = pixels.width;
  image.height = pixels.height;
  image.channels = 1;
  image.pixels = dicom_to_8bit(pixels);
  return convert_channels(image, channels);
}

}  // namespace featreuse::data
