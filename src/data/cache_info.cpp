#include <filesystem>

#include "featreuse/core/error.hpp"
#include "featreuse/data/cache.hpp"
#include "featreuse/store/h5.hpp"

namespace featreuse::data {

namespace {

std::vector<std::string> read_strings(hid_t file, const std::string& path) {
  h5::Handle d = h5::open_dataset(file, path);
  h5::Handle type(h5::check(H5Dget_type(d), "H5Dget_type"));
  const size_t width = H5Tget_size(type);
  const auto dims = h5::dims(d);
  const size_t n = dims.empty() ? 1 : dims[0];
  std::vector<char> raw(n * width + 1, '\0');
  if (n) h5::read_all(d, type, raw.data());
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    const char* s = raw.data() + i * width;
    out.emplace_back(s, strnlen(s, width));
  }
  return out;
}

}  // namespace

CacheInfo read_cache_info(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error("prepared cache '" + path + "' does not exist");
  CacheInfo info;
  info.path = path;
  h5::Handle file = h5::open_serial(path, h5::Access::read_only);
  if (!h5::has_attribute(file, "format") || h5::get_string_attribute(file, "format") != kCacheFormat)
    throw Error("'" + path + "' is not a featreuse dataset cache");
  const int64_t version = h5::get_int_attribute(file, "version");
  if (version != kCacheVersion)
    throw Error("'" + path + "' is a version " + std::to_string(version) +
                " cache; this featreuse reads version " + std::to_string(kCacheVersion) +
                " (prepare it again with --force)");
  info.layout = h5::get_string_attribute(file, "layout");
  info.options_json = h5::get_string_attribute(file, "options");
  info.split_method = h5::get_string_attribute(file, "split_method");
  info.items = h5::get_int_attribute(file, "items");
  info.size = h5::get_int_attribute(file, "size");
  info.channels = h5::get_int_attribute(file, "channels");
  info.num_classes = h5::get_int_attribute(file, "num_classes");
  info.label_kind =
      h5::get_string_attribute(file, "label_kind") == "multi" ? LabelKind::multi : LabelKind::single;
  info.complete = h5::get_int_attribute(file, "complete") == 1;
  info.class_names = read_strings(file, "class_names");
  if (!info.complete) return info;
  info.skipped = h5::get_int_attribute(file, "skipped");
  const char* names[3] = {"splits/train", "splits/val", "splits/test"};
  for (int s = 0; s < 3; ++s) info.split_sizes[s] = int64_t(h5::dims(h5::open_dataset(file, names[s]))[0]);
  for (const char* stat : {"stats/mean", "stats/std"}) {
    std::vector<double> v(info.channels);
    h5::read_all(h5::open_dataset(file, stat), H5T_NATIVE_DOUBLE, v.data());
    (std::string(stat) == "stats/mean" ? info.mean : info.std) = v;
  }
  return info;
}

}  // namespace featreuse::data
