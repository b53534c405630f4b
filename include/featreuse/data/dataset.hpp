#pragma once
// The dataset seam: a Dataset gives a split's size and streams of normalised
// batches; readers (fashion_mnist, and the prepared-cache readers) implement it
// and register in the dataset registry (registry.hpp).
#include <ATen/core/Tensor.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace featreuse::data {

enum class Split : int { train = 0, val = 1, test = 2 };
const char* split_name(Split split);

// Single-label: labels are class indices (int64, N). Multi-label: 0/1 targets
// per class (float32, N x K).
enum class LabelKind { single, multi };

struct DatasetInfo {
  std::string name;    // config name, e.g. "fmnist_5_9"
  std::string reader;  // registry name, e.g. "fashion_mnist"
  int64_t channels = 3;
  int64_t image_size = 224;  // side of the images a model sees
  int64_t num_classes = 0;
  LabelKind labels = LabelKind::single;
  std::array<int64_t, 3> split_sizes{0, 0, 0};
  std::vector<std::string> class_names;
  std::string target_metric = "accuracy";  // metric for model selection and reports
  std::vector<double> mean, stddev;        // per-channel normalisation applied to batches (empty: unknown)
  std::string source;                      // where the data comes from (e.g. the prepared cache file)
  int64_t size(Split split) const { return split_sizes[static_cast<int>(split)]; }
};

struct Batch {
  at::Tensor images;   // float32 N x C x H x W, normalised
  at::Tensor labels;   // int64 N (single) or float32 N x K (multi)
  at::Tensor indices;  // int64 N: positions within the split
};

struct StreamOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  uint64_t seed = 0;  // shuffling and augmentation derive from (seed, epoch)
  int64_t epoch = 0;
  bool drop_last = false;
  bool augment = false;  // training augmentations (readers without any ignore it)
  int shard_rank = 0;    // data-parallel groups: this rank's shard of each epoch
  int shard_count = 1;
  std::vector<int64_t> subset;  // use only these positions of the split (empty: all)
  int64_t first_batch = 0;      // start the pass at this batch (resuming mid-epoch)
  // Where batches are made and returned (augmentations run there too).
  c10::Device device = c10::Device(c10::kCPU);
  int workers = -1;  // background threads assembling batches; 0: in next(); -1: automatic
  int prefetch = 4;  // batches made ahead (at least `workers`)
};

class BatchStream {
 public:
  virtual ~BatchStream() = default;
  // Fills `out` with the next batch; false at the end of the pass.
  virtual bool next(Batch& out) = 0;
  virtual int64_t num_batches() const = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual const DatasetInfo& info() const = 0;
  int64_t size(Split split) const { return info().size(split); }
  virtual std::unique_ptr<BatchStream> stream(Split split, const StreamOptions& options) const = 0;
  // One pass in order without augmentations, as evaluations and analyses
  // read a split; `subset`: positions of the split to use (empty: all).
  std::unique_ptr<BatchStream> evaluation_stream(Split split, int64_t batch_size,
                                                 const std::vector<int64_t>& subset = {}) const;
};

}  // namespace featreuse::data
