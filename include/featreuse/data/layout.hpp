#pragma once
// Public dataset layouts (APTOS2019, CBIS-DDSM, ISIC2019, CheXpert, PCam) and
// the generic ones (an ImageFolder tree, a CSV of paths and labels): each turns
// the files under a root into an ordered list of items with labels and the
// reference's train/val/test split. `prepare` decodes the items into a cache.
#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/data/dataset.hpp"
#include "featreuse/data/image.hpp"

namespace featreuse::data {

// Everything that decides what a prepared cache holds. The same keys appear in
// dataset configs (configs/datasets/*.yaml) and as `featreuse prepare` flags.
struct LayoutOptions {
  std::string root;         // the dataset's public files
  int size = 0;             // side of cached images; 0: the layout's default (256, PCam 96)
  int channels = 0;         // folder/csv only; 0: 3 (RGB)
  std::string split_file;   // JSON {"train": [...], "val": [...], "test": [...]}, optional
  double holdout = -1;      // fraction held out for val + test; < 0: the layout's default
  int64_t split_seed = 42;  // seed of the reference's random.Random split
  bool dct_scaling = true;  // decode large JPEGs at a reduced DCT scale (not bit-exact with PIL)
  // csv layout
  std::string csv;  // the table, relative to root
  std::string path_column = "path";
  std::vector<std::string> label_columns{"label"};  // one: class per row; several: 0/1 multi-label
  std::string split_column;                         // optional column with train/val/test
  std::string image_dir;                            // folder the paths are relative to, under root
  // cbis_ddsm
  int ddsm_classes = 2;  // 2 (normal vs benign+cancer) or 3

  // The keys above as JSON (all of them), and back from a dataset config
  // (missing keys keep their defaults; `where` names the config in errors).
  nlohmann::json to_json() const;
  static LayoutOptions from_json(const nlohmann::json& config, const std::string& where);
};

// The options that decide a cache's content for layout `name`: the relevant
// keys only, defaults resolved, the root left out (data may move). Stored in
// the cache; a dataset config whose identity differs cannot use that cache.
nlohmann::json layout_identity(const std::string& name, const LayoutOptions& options);

// `featreuse prepare` flags for the options that differ from the layout's defaults.
std::string prepare_flags(const std::string& name, const LayoutOptions& options);

// The whole command that prepares `cache` from `options.root`.
std::string prepare_command(const std::string& name, const LayoutOptions& options, const std::string& cache);

struct Item {
  std::string source;          // path under root, or "<file>.h5#<row>" (PCam)
  int64_t label = -1;          // single-label
  std::vector<float> targets;  // multi-label 0/1
  std::string invalid;         // non-empty: why this item cannot be used (skipped by prepare)
};

struct Layout {
  std::string name;
  int channels = 3;
  int size = 256;
  LabelKind label_kind = LabelKind::single;
  std::vector<std::string> class_names;
  std::vector<Item> items;
  std::array<std::vector<int64_t>, 3> splits;  // item positions of train, val, test
  std::string split_method;                    // how the split was made, stored in the cache
  bool dct_scaling = true;
  // Decodes an item at `channels` (thread-safe); `target` is the side it will
  // be resized to (a hint for DCT-domain JPEG scaling). Throws
  // featreuse::Error on missing or unreadable images.
  std::function<Image(const Item& item, int target)> load;
};

// The HDF5 library (as built here) is not thread-safe. Threads that call it
// (PCam's loader during prepare) hold this lock, and so does the thread that
// writes the cache while they run.
std::mutex& hdf5_mutex();

// Builds a layout from the files under options.root; throws featreuse::Error
// naming the missing file or bad value.
Layout load_layout(const std::string& name, const LayoutOptions& options);
std::vector<std::string> layout_names();
bool is_layout(const std::string& name);

// ---- splits (splits.cpp) ----

// The reference's BaseSet.get_validation_ids: random.Random(seed) shuffles
// range(n); int(n * holdout) are held out, the first half of those is val,
// the rest test, the remainder train (in shuffled order).
std::array<std::vector<int64_t>, 3> python_holdout_split(int64_t n, double holdout, int64_t seed);

// The reference's CheXpert cut: pandas sort_values("Path"), then label-based
// .loc slices at int(0.2 N) + 15 and half of the held-out part (inclusive
// bounds, so boundary rows are shared). `note` says when pandas would have
// raised and the positional cut was used instead.
std::array<std::vector<int64_t>, 3> chexpert_cut(const std::vector<std::string>& paths, std::string* note);

// A user split file; entries are item positions or item sources (or their
// file stems). Every position must exist; an item may appear in one split only.
std::array<std::vector<int64_t>, 3> read_split_file(const std::string& path, const std::vector<Item>& items);

}  // namespace featreuse::data
