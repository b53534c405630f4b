#include "featreuse/data/memory_dataset.hpp"

#include <ATen/ATen.h>

#include "featreuse/core/error.hpp"
#include "featreuse/core/rng.hpp"

namespace featreuse::data {

std::vector<int64_t> epoch_order(int64_t split_size, const StreamOptions& options) {
  std::vector<int64_t> positions = options.subset;
  if (positions.empty()) {
    positions.resize(split_size);
    for (int64_t i = 0; i < split_size; ++i) positions[i] = i;
  }
  for (int64_t p : positions)
    if (p < 0 || p >= split_size)
      throw Error("subset position " + std::to_string(p) + " outside a split of " +
                  std::to_string(split_size));
  if (options.shuffle) {
    const auto order = shuffled_range(int64_t(positions.size()),
                                      derive_seed(options.seed, "shuffle", uint64_t(options.epoch)));
    std::vector<int64_t> shuffled(positions.size());
    for (size_t i = 0; i < order.size(); ++i) shuffled[i] = positions[order[i]];
    positions.swap(shuffled);
  }
  const int64_t shards = std::max(1, options.shard_count);
  int64_t per_shard = int64_t(positions.size()) / shards;
  if (options.drop_last) per_shard -= per_shard % std::max<int64_t>(1, options.batch_size);
  std::vector<int64_t> mine;
  for (int64_t i = 0; i < per_shard; ++i) mine.push_back(positions[i * shards + options.shard_rank]);
  if (!options.drop_last) {  // the remainder goes round-robin to the first shards
    for (int64_t i = per_shard * shards + options.shard_rank; i < int64_t(positions.size()); i += shards)
      mine.push_back(positions[i]);
  }
  if (options.first_batch > 0) {
    const size_t skip =
        std::min(mine.size(), size_t(options.first_batch * std::max<int64_t>(1, options.batch_size)));
    mine.erase(mine.begin(), mine.begin() + int64_t(skip));
  }
  return mine;
}

namespace {

class MemoryStream : public BatchStream {
 public:
  MemoryStream(const SplitData& data, std::vector<int64_t> order, int64_t batch_size, const at::Tensor& mean,
               const at::Tensor& inv_std, c10::Device device)
      : data_(data),
        order_(std::move(order)),
        batch_size_(batch_size),
        mean_(mean.to(device)),
        inv_std_(inv_std.to(device)),
        device_(device) {}

  bool next(Batch& out) override {
    if (cursor_ >= int64_t(order_.size())) return false;
    const int64_t n = std::min<int64_t>(batch_size_, int64_t(order_.size()) - cursor_);
    at::Tensor index = at::from_blob(order_.data() + cursor_, {n}, at::kLong).clone();
    cursor_ += n;
    at::Tensor pixels = data_.images.index_select(0, index).to(device_).to(at::kFloat).div_(255.0f);
    out.images = pixels.sub_(mean_).mul_(inv_std_);
    out.labels = data_.labels.index_select(0, index).to(device_);
    out.indices = index;
    return true;
  }

  int64_t num_batches() const override { return (int64_t(order_.size()) + batch_size_ - 1) / batch_size_; }

 private:
  const SplitData& data_;
  std::vector<int64_t> order_;
  int64_t batch_size_;
  int64_t cursor_ = 0;
  at::Tensor mean_, inv_std_;
  c10::Device device_;
};

}  // namespace

InMemoryDataset::InMemoryDataset(DatasetInfo info, std::array<SplitData, 3> splits, std::vector<double> mean,
                                 std::vector<double> std)
    : info_(std::move(info)), splits_(std::move(splits)) {
  if (int64_t(mean.size()) != info_.channels || int64_t(std.size()) != info_.channels)
    throw Error("dataset '" + info_.name + "': mean and std need one value per channel (" +
                std::to_string(info_.channels) + ")");
  std::vector<float> inv;
  for (double s : std) {
    if (!(s > 0)) throw Error("dataset '" + info_.name + "': std values must be positive");
    inv.push_back(float(1.0 / s));
  }
  std::vector<float> m(mean.begin(), mean.end());
  mean_ = at::tensor(m).view({1, info_.channels, 1, 1});
  inv_std_ = at::tensor(inv).view({1, info_.channels, 1, 1});
  for (int s = 0; s < 3; ++s) info_.split_sizes[s] = splits_[s].images.size(0);
}

std::unique_ptr<BatchStream> InMemoryDataset::stream(Split split, const StreamOptions& options) const {
  if (options.batch_size <= 0) throw Error("batch size must be positive");
  const SplitData& data = splits_[static_cast<int>(split)];
  return std::make_unique<MemoryStream>(data, epoch_order(data.images.size(0), options), options.batch_size,
                                        mean_, inv_std_, options.device);
}

}  // namespace featreuse::data
