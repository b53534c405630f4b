#pragma once
// Datasets backed by a prepared cache (cache.hpp): rows are read straight from
// the file (pread at the contiguous image dataset's offset, no HDF5 on the hot
// path), batches are assembled and augmented on background threads, in order,
// a few ahead. Shuffling and sharding follow epoch_order (memory_dataset.hpp);
// augmentation parameters derive from (seed, epoch, position in the split).
#include <memory>
#include <string>
#include <vector>

#include "featreuse/data/augment.hpp"
#include "featreuse/data/dataset.hpp"

namespace featreuse::data {

struct CacheDatasetOptions {
  std::string name;               // the dataset config's name
  std::string reader;             // registry name; must match the cache's layout
  std::string cache;              // the prepared file
  std::string expected_identity;  // layout_identity() the config implies ("" : not checked)
  std::string prepare_hint;       // the command that makes this cache, for error messages
  int64_t image_size = 224;       // side of the crops models see
  int64_t resize = 256;           // side images are brought to before cropping
  std::vector<double> mean, std;  // empty: the cache's train-split statistics
  std::string target_metric = "accuracy";
  AugmentOptions augment;
};

// Cheap: attributes and split sizes only. Throws featreuse::Error when the
// cache is missing, unfinished or made for other options, with the command
// that makes it.
DatasetInfo describe_cache_dataset(const CacheDatasetOptions& options);
std::unique_ptr<Dataset> open_cache_dataset(const CacheDatasetOptions& options);

// Loader threads: limits the calling thread's OpenMP team (ATen's CPU
// parallelism) to one thread, so several loader threads do not oversubscribe.
void single_threaded_aten();

}  // namespace featreuse::data
