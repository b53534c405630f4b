#pragma once
// A dataset held in memory as uint8 images (N x C x H x W) per split: small
// sets (Fashion-MNIST, test fixtures) use it directly.
#include <array>
#include <vector>

#include "featreuse/data/dataset.hpp"

namespace featreuse::data {

struct SplitData {
  at::Tensor images;  // uint8 N x C x H x W
  at::Tensor labels;  // int64 N, or float32 N x K for multi-label
};

class InMemoryDataset : public Dataset {
 public:
  // `mean`/`std` per channel, applied after scaling pixels to [0, 1].
  InMemoryDataset(DatasetInfo info, std::array<SplitData, 3> splits, std::vector<double> mean,
                  std::vector<double> std);
  const DatasetInfo& info() const override { return info_; }
  std::unique_ptr<BatchStream> stream(Split split, const StreamOptions& options) const override;

 private:
  DatasetInfo info_;
  std::array<SplitData, 3> splits_;
  at::Tensor mean_, inv_std_;  // float32 1 x C x 1 x 1
};

// The positions of a split a stream visits in one pass, in order: the subset
// (or all), shuffled by (seed, epoch) when asked, then this shard's share.
// With drop_last every shard gets the same whole number of batches. The
// first `first_batch` batches of this shard's pass are left out.
std::vector<int64_t> epoch_order(int64_t split_size, const StreamOptions& options);

}  // namespace featreuse::data
