// Writing uncompressed 16-bit grayscale DICOMs with GDCM (synthetic CBIS-DDSM
// downloads, tests).
#include <gdcmAttribute.h>
#include <gdcmImageWriter.h>
#include <gdcmMediaStorage.h>

#include <cstring>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/data/dicom.hpp"
#include "gdcm_quiet.hpp"

namespace featreuse::data {

namespace {

template <uint16_t Group, uint16_t Element>
void put(gdcm::DataSet& ds, const std::string& value) {
  const gdcm::VR vr = gdcm::Attribute<Group, Element>::GetVR();
  std::string v = value;
  if (v.size() % 2) v.push_back(vr == gdcm::VR::UI ? '\0' : ' ');  // even lengths, padded as the VR says
  gdcm::DataElement de(gdcm::Tag(Group, Element));
  de.SetVR(vr);
  de.SetByteValue(v.data(), uint32_t(v.size()));
  ds.Replace(de);
}

}  // namespace

void write_dicom(const std::string& path, const std::vector<uint16_t>& stored, int width, int height,
                 const DicomWriteOptions& options) {
  quiet_gdcm();
  if (width <= 0 || height <= 0 || stored.size() != size_t(width) * height)
    throw Error("write_dicom '" + path + "': " + std::to_string(stored.size()) + " values for " +
                std::to_string(width) + " x " + std::to_string(height));
  if (options.bits_stored < 1 || options.bits_stored > 16)
    throw Error("write_dicom '" + path + "': bits stored " + std::to_string(options.bits_stored));
  gdcm::ImageWriter writer;
  gdcm::Image& image = writer.GetImage();
  image.SetNumberOfDimensions(2);
  const unsigned int dims[2] = {unsigned(width), unsigned(height)};
  image.SetDimensions(dims);
  gdcm::PixelFormat format(gdcm::PixelFormat::UINT16);
  format.SetBitsStored(uint16_t(options.bits_stored));
  format.SetHighBit(uint16_t(options.bits_stored - 1));
  image.SetPixelFormat(format);
  image.SetPhotometricInterpretation(options.monochrome1 ? gdcm::PhotometricInterpretation::MONOCHROME1
                                                         : gdcm::PhotometricInterpretation::MONOCHROME2);
  image.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  std::vector<char> bytes(stored.size() * 2);
  for (size_t i = 0; i < stored.size(); ++i) {  // little endian whatever the host
    bytes[2 * i] = char(stored[i] & 0xff);
    bytes[2 * i + 1] = char(stored[i] >> 8);
  }
  gdcm::DataElement pixels(gdcm::Tag(0x7fe0, 0x0010));
  pixels.SetByteValue(bytes.data(), uint32_t(bytes.size()));
  image.SetDataElement(pixels);
  gdcm::DataSet& ds = writer.GetFile().GetDataSet();
  put<0x0008, 0x0016>(ds, gdcm::MediaStorage::GetMSString(gdcm::MediaStorage::SecondaryCaptureImageStorage));
  put<0x0008, 0x0060>(ds, "MG");
  if (!options.study_uid.empty()) put<0x0020, 0x000d>(ds, options.study_uid);
  if (!options.series_uid.empty()) put<0x0020, 0x000e>(ds, options.series_uid);
  if (!options.instance_uid.empty()) put<0x0008, 0x0018>(ds, options.instance_uid);
  // The rescale goes through the image (ImageWriter writes (0028,1052/1053) from it).
  image.SetIntercept(options.intercept);
  image.SetSlope(options.slope);
  writer.SetFileName(path.c_str());
  if (!writer.Write()) throw Error("cannot write the DICOM file '" + path + "'");
}

}  // namespace featreuse::data
