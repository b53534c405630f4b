#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/data/memory_dataset.hpp"
#include "featreuse/data/registry.hpp"

using namespace featreuse::data;

namespace {
nlohmann::json config(std::vector<int> classes, int val_size) {
  return {{"name", "fm"},       {"reader", "fashion_mnist"}, {"root", "/usr/share/datasets/fashion-mnist"},
          {"classes", classes}, {"val_size", val_size},      {"mean", {0.286}},
          {"std", {0.353}}};
}
}  // namespace

TEST(FashionMnist, DescribeCountsSubsetWithoutImages) {
  DatasetInfo info = describe_dataset(config({5, 6, 7, 8, 9}, 5000));
  EXPECT_EQ(info.num_classes, 5);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.size(Split::train), 30000 - 5000);
  EXPECT_EQ(info.size(Split::val), 5000);
  EXPECT_EQ(info.size(Split::test), 5000);
  EXPECT_EQ(info.class_names[0], "Sandal");
}

TEST(FashionMnist, OpenRelabelsAndNormalises) {
  auto dataset = open_dataset(config({9, 0}, 1000));
  ASSERT_EQ(dataset->size(Split::train), 11000);
  StreamOptions options;
  options.batch_size = 500;
  auto stream = dataset->stream(Split::test, options);
  Batch batch;
  int64_t seen = 0;
  std::set<int64_t> labels;
  while (stream->next(batch)) {
    seen += batch.labels.size(0);
    EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{batch.labels.size(0), 1, 28, 28}));
    for (int64_t i = 0; i < batch.labels.size(0); ++i) labels.insert(batch.labels[i].item<int64_t>());
  }
  EXPECT_EQ(seen, 2000);
  EXPECT_EQ(labels, (std::set<int64_t>{0, 1}));
  // Pixels are normalised: (x/255 - mean)/std spans below 0 and above 1.
  EXPECT_LT(batch.images.min().item<float>(), -0.5f);
  EXPECT_GT(batch.images.max().item<float>(), 1.5f);
}

TEST(FashionMnist, MissingRootNamesTheFile) {
  auto c = config({}, 10);
  c["root"] = "/nonexistent/fmnist";
  try {
    describe_dataset(c);
    FAIL() << "expected an error";
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/fmnist/train-labels-idx1-ubyte.gz"),
              std::string::npos);
  }
}

TEST(EpochOrder, ShardsPartitionTheShuffledEpoch) {
  StreamOptions options;
  options.shuffle = true;
  options.seed = 7;
  options.epoch = 3;
  options.batch_size = 4;
  options.drop_last = true;
  options.shard_count = 2;
  std::set<int64_t> all;
  for (int rank = 0; rank < 2; ++rank) {
    options.shard_rank = rank;
    auto order = epoch_order(50, options);
    EXPECT_EQ(order.size(), 24u);  // 25 per shard, cut to whole batches of 4
    all.insert(order.begin(), order.end());
  }
  EXPECT_EQ(all.size(), 48u);
  options.shard_rank = 0;
  options.epoch = 4;
  auto other_epoch = epoch_order(50, options);
  options.epoch = 3;
  EXPECT_NE(other_epoch, epoch_order(50, options));
  EXPECT_EQ(epoch_order(50, options), epoch_order(50, options));
}

TEST(EpochOrder, FirstBatchResumesThePassWhereItStopped) {
  StreamOptions options;
  options.shuffle = true;
  options.seed = 3;
  options.epoch = 1;
  options.batch_size = 4;
  options.drop_last = true;
  const auto whole = epoch_order(30, options);
  options.first_batch = 2;
  const auto rest = epoch_order(30, options);
  ASSERT_EQ(rest.size(), whole.size() - 8);
  EXPECT_TRUE(std::equal(rest.begin(), rest.end(), whole.begin() + 8));
}

TEST(EpochOrder, SubsetAndNoDropLastKeepsEveryPosition) {
  StreamOptions options;
  options.subset = {3, 5, 7, 9, 11};
  options.batch_size = 2;
  options.shard_count = 2;
  std::multiset<int64_t> all;
  for (int rank = 0; rank < 2; ++rank) {
    options.shard_rank = rank;
    for (int64_t p : epoch_order(12, options)) all.insert(p);
  }
  EXPECT_EQ(all, (std::multiset<int64_t>{3, 5, 7, 9, 11}));
  options.subset = {12};
  EXPECT_THROW(epoch_order(12, options), featreuse::Error);
}
