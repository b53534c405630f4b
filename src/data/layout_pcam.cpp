// PatchCamelyon: the official camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5
// files, read directly (x: N x 96 x 96 x 3 uint8, y: N x 1 x 1 x 1), with the
// official split. Images stay 96 x 96 in the cache by default; the loader
// resizes them to 256 like the reference's Resize((256, 256)).
#include <map>
#include <memory>
#include <mutex>

#include "featreuse/core/error.hpp"
#include "featreuse/store/h5.hpp"
#include "layout_common.hpp"

namespace featreuse::data::detail {

namespace {

const char* kSplits[3] = {"train", "valid", "test"};

std::string file_name(int split, char kind) {
  return std::string("camelyonpatch_level_2_split_") + kSplits[split] + "_" + kind + ".h5";
}

// Open files, shared by the loading threads (under hdf5_mutex()).
struct PcamFiles {
  fs::path root;
  std::map<std::string, std::pair<h5::Handle, h5::Handle>> open;  // file -> (file, dataset x)
};

}  // namespace

Layout build_pcam(const LayoutOptions& options) {
  const fs::path root = options.root;
  Layout layout;
  layout.name = "pcam";
  layout.channels = 3;
  layout.class_names = {"normal", "tumor"};
  int native = 0;
  for (int s = 0; s < 3; ++s) {
    const std::string xname = file_name(s, 'x'), yname = file_name(s, 'y');
    const std::string xpath = require_file(root / xname, "PCam image file");
    const std::string ypath = require_file(root / yname, "PCam label file");
    h5::Handle yfile = h5::open_serial(ypath, h5::Access::read_only);
    h5::Handle y = h5::open_dataset(yfile, "y");
    const auto ydims = h5::dims(y);
    h5::Handle xfile = h5::open_serial(xpath, h5::Access::read_only);
    h5::Handle x = h5::open_dataset(xfile, "x");
    const auto xdims = h5::dims(x);
    if (xdims.size() != 4 || xdims[3] != 3 || xdims[1] != xdims[2])
      throw Error("'" + xpath + "': dataset 'x' should be N x S x S x 3");
    if (ydims.empty() || ydims[0] != xdims[0])
      throw Error("'" + ypath + "': 'y' has " + std::to_string(ydims.empty() ? 0 : ydims[0]) +
                  " rows, 'x' has " + std::to_string(xdims[0]));
    if (native && native != int(xdims[1])) throw Error("PCam files disagree on the patch size");
    native = int(xdims[1]);
    size_t count = 1;
    for (auto d : ydims) count *= d;
    if (count != ydims[0]) throw Error("'" + ypath + "': 'y' should hold one label per row");
    std::vector<uint8_t> labels(count);
    h5::read_all(y, H5T_NATIVE_UINT8, labels.data());
    for (hsize_t i = 0; i < xdims[0]; ++i) {
      if (labels[i] > 1)
        throw Error("'" + ypath + "': label " + std::to_string(labels[i]) + " at row " + std::to_string(i) +
                    " is not 0 or 1");
      Item item;
      item.source = xname + "#" + std::to_string(i);
      item.label = labels[i];
      layout.splits[s].push_back(int64_t(layout.items.size()));
      layout.items.push_back(std::move(item));
    }
  }
  layout.size = native;
  layout.split_method = "official PCam split files (train, valid, test)";
  if (!options.split_file.empty()) {
    layout.splits = read_split_file(options.split_file, layout.items);
    layout.split_method = "user split file " + options.split_file;
  }
  auto files = std::make_shared<PcamFiles>();
  files->root = root;
  layout.load = [files](const Item& item, int) {
    const size_t hash = item.source.rfind('#');
    if (hash == std::string::npos) throw Error("PCam item '" + item.source + "' has no row");
    const std::string name = item.source.substr(0, hash);
    const hsize_t row = std::stoull(item.source.substr(hash + 1));
    std::lock_guard<std::mutex> guard(hdf5_mutex());
    auto it = files->open.find(name);
    if (it == files->open.end()) {
      h5::Handle f = h5::open_serial((files->root / name).string(), h5::Access::read_only);
      h5::Handle x = h5::open_dataset(f, "x");
      it = files->open.emplace(name, std::make_pair(std::move(f), std::move(x))).first;
    }
    const auto d = h5::dims(it->second.second);
    Image image;
    image.height = int(d[1]);
    image.width = int(d[2]);
    image.channels = 3;
    image.pixels.resize(image.bytes());
    h5::read_rows(it->second.second, H5T_NATIVE_UINT8, row, 1, image.pixels.data());
    return image;
  };
  return layout;
}

}  // namespace featreuse::data::detail
