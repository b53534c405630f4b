#pragma once
// Mean attention distance per head (the paper's App. E, after Dosovitskiy et
// al.): for each query patch, the pixel distance to every key patch weighted
// by the query's attention to it; averaged over query patches and images.
// Only patches count: class tokens (DeiT) and padding tokens (Swin) are
// neither queries nor keys, and each query's weights are renormalised over the
// patch keys (a query with no weight on patches is left out). For Swin the
// keys are the tokens of the query's window; positions are the tokens' places
// on the unshifted grid, so attention across a shifted window's wrapped edge
// (masked by the model) would count at its true distance.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "featreuse/analysis/test_sweep.hpp"
#include "featreuse/data/dataset.hpp"
#include "featreuse/models/attention_maps.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::analysis {

class AttentionDistance {
 public:
  // One block's attention maps of a batch (models::AttentionMapSource).
  void add(const models::BlockAttention& block);
  // Per head, in input pixels (NaN for a head with no counted query); empty
  // before any add. One AttentionDistance per block: add that block's maps
  // batch by batch.
  std::vector<double> mean() const;

 private:
  void add_global(const models::BlockAttention& block);
  void add_windowed(const models::BlockAttention& block);
  void accumulate(const at::Tensor& device_sums, const at::Tensor& device_counts);
  std::vector<double> sum_;       // per head: sum over counted queries
  std::vector<int64_t> queries_;  // per head: counted (image, query) pairs
};

// Every block's distances batch by batch from a sweep (test_sweep.hpp) in
// which the analysed network is network `index`.
class AttentionReader : public SweepReader {
 public:
  explicit AttentionReader(size_t index) : index_(index) {}
  void declare(std::vector<models::TraceRequest>& requests) const override;
  void read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) override;
  // Per block in network order, the mean distance per head; throws when no batch was read.
  std::vector<std::pair<std::string, std::vector<double>>> finish(const std::string& what) const;

 private:
  size_t index_;
  std::vector<std::string> names_;
  std::vector<AttentionDistance> blocks_;
};

// Every block's mean attention distance per head over a split, in eval mode,
// block by block in network order. Throws featreuse::Error when `net` has no
// attention maps. `subset`: positions of the split to use (empty: all).
std::vector<std::pair<std::string, std::vector<double>>> attention_distances(
    models::Network& net, const data::Dataset& dataset, data::Split split, int64_t batch_size,
    const std::vector<int64_t>& subset = {});

}  // namespace featreuse::analysis
