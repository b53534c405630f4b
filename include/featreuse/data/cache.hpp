#pragma once
// The prepared dataset cache: one HDF5 file per dataset, written once by
// `featreuse prepare` (prepare.hpp) and read by the loader (loader.hpp).
//
// Layout (N items, C channels, S x S images, K classes):
//   /            attributes: format, version, layout, options (JSON), split_method,
//                size, channels, label_kind ("single"/"multi"), num_classes,
//                items, skipped, complete (0 until the last write)
//   /images      uint8   N x C x S x S, contiguous (memory-mapped by the loader)
//   /labels      int64   N               (single-label; -1 where unusable)
//   /targets     float32 N x K           (multi-label)
//   /status      uint8   N: 0 pending, 1 ok, 2 skipped
//   /error       string  N: why an item was skipped
//   /source      string  N: the item's file under the root (or "<x.h5>#row")
//   /pixel_sum, /pixel_sqsum  float64 N x C: per-image sums of pixel/255 and its square
//   /class_names string  K
//   /splits/{train,val,test}  int64: item positions (usable items only)
//   /stats/{mean,std}         float64 C: per-channel statistics of the train split
//   /skipped     string: "source: reason" for every skipped item
#include <array>
#include <string>
#include <vector>

#include "featreuse/data/dataset.hpp"

namespace featreuse::data {

inline constexpr const char* kCacheFormat = "featreuse-dataset-cache";
inline constexpr int64_t kCacheVersion = 1;
inline constexpr size_t kCacheErrorBytes = 240;

struct CacheInfo {
  std::string path, layout, options_json, split_method;
  int64_t items = 0, size = 0, channels = 0, num_classes = 0, skipped = 0;
  LabelKind label_kind = LabelKind::single;
  std::vector<std::string> class_names;
  std::array<int64_t, 3> split_sizes{0, 0, 0};
  std::vector<double> mean, std;  // empty until complete
  bool complete = false;
};

// Reads a cache's attributes and small datasets (serially, read-only). Throws
// featreuse::Error when the file is missing or is not a featreuse cache.
CacheInfo read_cache_info(const std::string& path);

}  // namespace featreuse::data
