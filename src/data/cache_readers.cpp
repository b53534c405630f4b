// Registry entries of the readers backed by a prepared cache: the five medical
// datasets and the generic folder/csv layouts. A dataset config names the
// public files (`root`, plus layout options) and the cache made from them.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/data/layout.hpp"
#include "featreuse/data/loader.hpp"
#include "featreuse/data/readers.hpp"
#include "featreuse/data/registry.hpp"

namespace featreuse::data {

std::string resolve_data_path(const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  if (const char* base = std::getenv("FEATREUSE_DATA"); base && *base)
    return (std::filesystem::path(base) / path).string();
  return path;
}

namespace {

const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys = {
      "name",        "reader",        "description",  "root",          "cache",        "image_size",
      "resize",      "mean",          "std",          "target_metric", "augment",      "size",
      "channels",    "split_file",    "holdout",      "split_seed",    "dct_scaling",  "csv",
      "path_column", "label_columns", "split_column", "image_dir",     "ddsm_classes", "split_sizes"};
  return keys;
}

AugmentOptions parse_augment(const nlohmann::json& a, const std::string& where) {
  AugmentOptions o;
  if (a.is_null()) return o;
  if (!a.is_object()) throw Error(where + ": 'augment' must be a mapping");
  const std::map<std::string, double*> fields = {{"scale_min", &o.scale_min},
                                                 {"scale_max", &o.scale_max},
                                                 {"ratio_min", &o.ratio_min},
                                                 {"ratio_max", &o.ratio_max},
                                                 {"vflip", &o.vflip},
                                                 {"hflip", &o.hflip},
                                                 {"jitter", &o.jitter},
                                                 {"brightness", &o.brightness},
                                                 {"contrast", &o.contrast},
                                                 {"saturation", &o.saturation},
                                                 {"hue", &o.hue},
                                                 {"grayscale", &o.grayscale}};
  for (auto it = a.begin(); it != a.end(); ++it) {
    auto f = fields.find(it.key());
    if (f == fields.end()) throw Error(where + ": unknown key 'augment." + it.key() + "'");
    if (!it.value().is_number()) throw Error(where + ": 'augment." + it.key() + "' must be a number");
    *f->second = it.value().get<double>();
  }
  if (!(o.scale_min > 0 && o.scale_min <= o.scale_max && o.ratio_min > 0 && o.ratio_min <= o.ratio_max))
    throw Error(where + ": augment scale and ratio ranges must be positive and ordered");
  if (o.hue < 0 || o.hue > 0.5) throw Error(where + ": augment.hue must be in [0, 0.5]");
  return o;
}

// The reference's target metrics (section 6); generic sets: accuracy, or
// ROC AUC when multi-label.
std::string default_metric(const std::string& reader, const LayoutOptions& layout) {
  if (reader == "aptos2019") return "quadratic_kappa";
  if (reader == "isic2019") return "recall";
  if (reader == "cbis_ddsm" || reader == "cbis_ddsm_pathology" || reader == "chexpert" || reader == "pcam")
    return "roc_auc";
  return reader == "csv" && layout.label_columns.size() > 1 ? "roc_auc" : "accuracy";
}

CacheDatasetOptions parse(const nlohmann::json& c, const std::string& reader) {
  CacheDatasetOptions o;
  o.name = c.value("name", reader);
  o.reader = reader;
  const std::string where = "dataset '" + o.name + "'";
  for (auto it = c.begin(); it != c.end(); ++it)
    if (!known_keys().count(it.key())) {
      const std::string known = join(known_keys());
      throw Error(where + ": unknown key '" + it.key() + "' (known: " + known + ")");
    }
  if (!c.contains("cache") || !c["cache"].is_string() || c["cache"].get<std::string>().empty())
    throw Error(where + ": key 'cache' (the prepared cache file) is missing");
  o.cache = resolve_data_path(c["cache"].get<std::string>());
  LayoutOptions layout = LayoutOptions::from_json(c, where);
  layout.root = resolve_data_path(layout.root);
  layout.split_file = resolve_data_path(layout.split_file);
  o.expected_identity = layout_identity(reader, layout).dump();
  o.prepare_hint = prepare_command(reader, layout, o.cache);
  auto number = [&](const char* key, int64_t fallback) -> int64_t {
    if (!c.contains(key) || c[key].is_null()) return fallback;
    if (!c[key].is_number_integer()) throw Error(where + ": '" + key + "' must be an integer");
    return c[key].get<int64_t>();
  };
  o.image_size = number("image_size", 224);
  o.resize = number("resize", 256);
  auto stats = [&](const char* key) -> std::vector<double> {
    if (!c.contains(key) || c[key].is_null()) return {};
    try {
      return c[key].get<std::vector<double>>();
    } catch (const nlohmann::json::exception&) {
      throw Error(where + ": '" + key + "' must be a list of numbers or null");
    }
  };
  o.mean = stats("mean");
  o.std = stats("std");
  if (c.contains("target_metric") && c["target_metric"].is_string())
    o.target_metric = c["target_metric"];
  else
    o.target_metric = default_metric(reader, layout);
  o.augment = parse_augment(c.value("augment", nlohmann::json()), where);
  return o;
}

void register_cache_reader(const std::string& reader, const std::string& description) {
  register_reader(
      {reader, description,
       [reader](const nlohmann::json& config) { return describe_cache_dataset(parse(config, reader)); },
       [reader](const nlohmann::json& config) { return open_cache_dataset(parse(config, reader)); }});
}

}  // namespace

void register_cache_readers() {
  register_cache_reader("aptos2019",
                        "APTOS2019 blindness detection (train.csv + train_images/*.png), prepared cache");
  register_cache_reader(
      "cbis_ddsm",
      "CBIS-DDSM normal vs abnormal, the paper's task (the reference's image lists), prepared cache");
  register_cache_reader("cbis_ddsm_pathology",
                        "CBIS-DDSM benign vs malignant (the public description CSVs), prepared cache");
  register_cache_reader("isic2019", "ISIC2019 skin lesions (ground-truth CSV + JPEGs), prepared cache");
  register_cache_reader("chexpert", "CheXpert chest X-rays (train.csv, 14 labels, U-Zeros), prepared cache");
  register_cache_reader("pcam", "PatchCamelyon (the official split HDF5 files), prepared cache");
  register_cache_reader("folder", "an ImageFolder tree (root/[split/]class/image), prepared cache");
  register_cache_reader("csv", "a CSV of image paths and labels (single or multi-label), prepared cache");
}

}  // namespace featreuse::data
