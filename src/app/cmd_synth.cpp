// featreuse synth DATASET --out DIR [--n N]: a small fake copy of a public
// dataset layout (real file names, CSV headers, HDF5 keys) with a learnable
// class signal, to try `prepare` and training before the real data arrives.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/data/synth.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

int cmd_synth(const Args& args) {
  po::options_description options(
      "featreuse synth DATASET --out DIR [options]\n"
      "  DATASET: aptos2019, cbis_ddsm, cbis_ddsm_pathology (both CBIS-DDSM forms in one folder), isic2019,\n"
      "  chexpert, pcam, folder, csv");
  data::SynthOptions o;
  std::string size;
  options.add_options()("help,h", "show this help")("dataset", po::value(&o.layout), "the layout to imitate")(
      "out", po::value(&o.out), "folder to write (the dataset's root)")(
      "n", po::value(&o.n), "number of images (default: a few dozen)")(
      "size", po::value(&size), "image size WxH (default: small; PCam is always 96x96)")(
      "seed", po::value(&o.seed), "random seed (default 1)")("png-compression", po::value(&o.png_compression),
                                                             "zlib level of the PNGs written (default 6)")(
      "dicom", po::bool_switch(&o.dicom),
      "cbis_ddsm(_pathology): the description CSVs' images as DICOMs in the archive's download tree");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"dataset"}, "synth");
  if (auto code =
          help_or_missing(vm, options, "synth", {{"DATASET", !o.layout.empty()}, {"--out", !o.out.empty()}}))
    return *code;
  if (!size.empty()) {
    if (std::sscanf(size.c_str(), "%dx%d", &o.width, &o.height) != 2 || o.width <= 0 || o.height <= 0)
      throw Error("synth: --size must look like 2000x1500, not '" + size + "'");
  }
  const data::SynthReport report = data::write_synthetic(o);
  std::printf("wrote a synthetic %s dataset to %s: %lld images\n", o.layout.c_str(), o.out.c_str(),
              (long long)report.images);
  for (const auto& f : report.files) std::printf("  %s\n", f.c_str());
  std::string extra;
  if (o.layout == "csv") extra = " --csv labels.csv --label-columns label";
  std::printf("prepare it with: featreuse prepare %s --root %s --out %s.h5%s\n", o.layout.c_str(),
              o.out.c_str(), o.layout.c_str(), extra.c_str());
  return 0;
}

}  // namespace featreuse::app
