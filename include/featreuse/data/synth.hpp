#pragma once
// `featreuse synth`: small fake copies of the public dataset layouts (the real
// file names, CSV headers and HDF5 keys) whose images carry a learnable class
// signal, for tests and for users checking their setup before the real data.
#include <cstdint>
#include <string>
#include <vector>

namespace featreuse::data {

struct SynthOptions {
  std::string layout;         // aptos2019, cbis_ddsm, isic2019, chexpert, pcam, folder, csv
  std::string out;            // root folder to write (created)
  int64_t n = 0;              // images; 0: the layout's default (a few dozen)
  int width = 0, height = 0;  // image size; 0: the layout's default (PCam is always 96 x 96)
  uint64_t seed = 1;
  int png_compression = 6;
  // cbis_ddsm(_pathology): the description CSVs' images as 16-bit DICOMs in the
  // archive's download tree (CBIS-DDSM/<subject>/<study>/<series>/1-1.dcm)
  // instead of PNGs at the CSVs' paths.
  bool dicom = false;
};

struct SynthReport {
  int64_t images = 0;
  std::vector<std::string> files;  // the tables/lists written (not the images)
};

SynthReport write_synthetic(const SynthOptions& options);

}  // namespace featreuse::data
