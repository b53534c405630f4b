// Each synthetic public layout: synth -> prepare (decode, resize, splits,
// statistics) -> the registry's reader -> a few augmented and evaluation
// batches; plus skip/resume/no-op behaviour and the missing-cache message.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data_test_util.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/data/cache.hpp"
#include "featreuse/data/prepare.hpp"
#include "featreuse/data/registry.hpp"
#include "featreuse/data/synth.hpp"
#include "featreuse/store/h5.hpp"

using namespace featreuse::data;
namespace fs = std::filesystem;

namespace {

struct Case {
  std::string reader;      // registry / layout name
  int64_t n;               // synth count
  nlohmann::json options;  // extra layout options (config keys)
  int64_t channels, classes;
  LabelKind kind;
  int64_t cache_size;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.reader << " " << c.options.dump(); }

PrepareReport prepare(const std::string& layout, const LayoutOptions& options, const std::string& out,
                      bool force = false) {
  PrepareOptions p;
  p.layout = layout;
  p.layout_options = options;
  p.out = out;
  p.threads = 2;
  p.force = force;
  return prepare_cache(p, MPI_COMM_WORLD);
}

nlohmann::json dataset_config(const Case& c, const std::string& root, const std::string& cache) {
  nlohmann::json j = c.options;
  j["name"] = "synthetic_" + c.reader;
  j["reader"] = c.reader;
  j["root"] = root;
  j["cache"] = cache;
  j["mean"] = nullptr;  // the cache's statistics
  j["std"] = nullptr;
  return j;
}

// Nearest class mean on evaluation batches: the synthetic signal must survive
// decoding, resizing and normalisation well enough to beat chance clearly.
double centroid_accuracy(Dataset& dataset, int64_t classes) {
  StreamOptions options;
  options.batch_size = 16;
  options.workers = 0;
  auto stream = dataset.stream(Split::train, options);
  std::vector<at::Tensor> xs, ys;
  Batch b;
  while (stream->next(b)) {
    xs.push_back(b.images.flatten(1));
    ys.push_back(b.labels);
  }
  const at::Tensor x = at::cat(xs), y = at::cat(ys);
  at::Tensor centroids = at::zeros({classes, x.size(1)});
  for (int64_t k = 0; k < classes; ++k) {
    const at::Tensor mask = y == k;
    if (mask.sum().item<int64_t>() > 0) centroids[k] = x.index({mask}).mean(0);
  }
  const at::Tensor pred = at::cdist(x, centroids).argmin(1);
  return (pred == y).to(at::kFloat).mean().item<double>();
}

class SyntheticLayout : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(SyntheticLayout, PrepareThenLoadBatches) {
  const Case& c = GetParam();
  data_test::TempDir dir("synth-" + c.reader);
  SynthOptions s;
  s.layout = c.reader;
  s.out = dir / "root";
  s.n = c.n;
  const SynthReport written = write_synthetic(s);
  ASSERT_GT(written.images, 0);

  LayoutOptions options = LayoutOptions::from_json(c.options, "test");
  options.root = s.out;
  const Layout layout = load_layout(c.reader, options);
  const PrepareReport report = prepare(c.reader, options, dir / "cache.h5");
  EXPECT_EQ(report.items, int64_t(layout.items.size()));
  EXPECT_EQ(report.skipped, 0);
  EXPECT_EQ(report.processed, report.items);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(report.split_sizes[k], int64_t(layout.splits[k].size())) << k;
  ASSERT_EQ(int64_t(report.mean.size()), c.channels);
  for (size_t ch = 0; ch < report.mean.size(); ++ch) {
    EXPECT_GT(report.mean[ch], 0.02);
    EXPECT_LT(report.mean[ch], 0.98);
    EXPECT_GT(report.std[ch], 0.01);
  }
  const CacheInfo info = read_cache_info(dir / "cache.h5");
  EXPECT_TRUE(info.complete);
  EXPECT_EQ(info.size, c.cache_size);
  EXPECT_EQ(info.channels, c.channels);
  EXPECT_EQ(info.num_classes, c.classes);

  // The reader, through the registry, as a job would use it.
  const nlohmann::json config = dataset_config(c, s.out, dir / "cache.h5");
  const DatasetInfo described = describe_dataset(config);
  EXPECT_EQ(described.channels, c.channels);
  EXPECT_EQ(described.labels, c.kind);
  EXPECT_EQ(described.size(Split::train), report.split_sizes[0]);
  auto dataset = open_dataset(config);
  StreamOptions train;
  train.batch_size = 8;
  train.shuffle = true;
  train.augment = true;
  train.seed = 3;
  train.drop_last = true;
  train.workers = 2;
  auto stream = dataset->stream(Split::train, train);
  EXPECT_EQ(stream->num_batches(), report.split_sizes[0] / 8);
  Batch batch;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(stream->next(batch));
    EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{8, c.channels, 224, 224}));
    EXPECT_EQ(batch.images.scalar_type(), at::kFloat);
    if (c.kind == LabelKind::multi) {
      EXPECT_EQ(batch.labels.sizes(), (std::vector<int64_t>{8, c.classes}));
    } else {
      EXPECT_EQ(batch.labels.sizes(), (std::vector<int64_t>{8}));
      EXPECT_GE(batch.labels.min().item<int64_t>(), 0);
      EXPECT_LT(batch.labels.max().item<int64_t>(), c.classes);
    }
  }
  StreamOptions eval;
  eval.batch_size = 5;
  auto val = dataset->stream(Split::val, eval);
  int64_t seen = 0;
  while (val->next(batch)) seen += batch.images.size(0);
  EXPECT_EQ(seen, report.split_sizes[1]);
  if (c.kind == LabelKind::single) EXPECT_GT(centroid_accuracy(*dataset, c.classes), 1.5 / double(c.classes));
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, SyntheticLayout,
    ::testing::Values(
        Case{"aptos2019", 25, {}, 3, 5, LabelKind::single, 256},
        Case{"isic2019", 24, {}, 3, 8, LabelKind::single, 256},
        Case{"chexpert", 60, {}, 1, 14, LabelKind::multi, 256},
        Case{"cbis_ddsm", 30, {}, 1, 2, LabelKind::single, 256},
        Case{"cbis_ddsm_pathology", 30, {}, 1, 2, LabelKind::single, 256},
        Case{"pcam", 40, {}, 3, 2, LabelKind::single, 96},
        Case{"folder", 30, {{"size", 64}}, 3, 3, LabelKind::single, 64},
        Case{"csv", 30, {{"csv", "labels.csv"}, {"label_columns", {"label"}}}, 3, 3, LabelKind::single, 256},
        Case{"csv",
             30,
             {{"csv", "labels.csv"}, {"label_columns", {"has_red", "has_square"}}, {"channels", 1}},
             1,
             2,
             LabelKind::multi,
             256}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return info.param.reader + "_" + std::to_string(info.index);
    });

TEST(Prepare, SkipsBadImagesResumesAndIsANoOpWhenDone) {
  data_test::TempDir dir("prepare-skip");
  SynthOptions s;
  s.layout = "aptos2019";
  s.out = dir / "root";
  s.n = 12;
  write_synthetic(s);
  LayoutOptions options;
  options.root = s.out;
  const Layout layout = load_layout("aptos2019", options);
  // One truncated image, one missing.
  const fs::path bad = fs::path(s.out) / layout.items[1].source,
                 gone = fs::path(s.out) / layout.items[4].source;
  fs::resize_file(bad, fs::file_size(bad) / 2);
  fs::remove(gone);
  const std::string cache = dir / "aptos.h5";
  const PrepareReport first = prepare("aptos2019", options, cache);
  EXPECT_EQ(first.skipped, 2);
  EXPECT_EQ(first.ok, 10);
  {
    featreuse::h5::Handle f = featreuse::h5::open_serial(cache, featreuse::h5::Access::read_only);
    featreuse::h5::Handle d = featreuse::h5::open_dataset(f, "skipped");
    const auto dims = featreuse::h5::dims(d);
    ASSERT_EQ(dims[0], 2u);
    featreuse::h5::Handle type(H5Dget_type(d));
    std::string raw(H5Tget_size(type) * 2, '\0');
    featreuse::h5::read_all(d, type, raw.data());
    EXPECT_NE(raw.find(layout.items[1].source), std::string::npos);
    EXPECT_NE(raw.find(layout.items[4].source), std::string::npos);
  }
  int64_t in_splits = 0;
  for (auto n : first.split_sizes) in_splits += n;
  EXPECT_EQ(in_splits, 10);

  // Done: a second run does nothing.
  const PrepareReport again = prepare("aptos2019", options, cache);
  EXPECT_TRUE(again.already_complete);
  EXPECT_EQ(again.processed, 0);

  // Interrupted: mark three rows pending and the file unfinished; a rerun
  // decodes exactly those and gives the same images.
  std::vector<uint8_t> before(3 * 256 * 256);
  {
    featreuse::h5::Handle f = featreuse::h5::open_serial(cache, featreuse::h5::Access::read_write);
    featreuse::h5::Handle images = featreuse::h5::open_dataset(f, "images");
    featreuse::h5::read_rows(images, H5T_NATIVE_UINT8, 6, 1, before.data());
    std::vector<uint8_t> junk(3 * 256 * 256, 7);
    featreuse::h5::write_rows(images, H5T_NATIVE_UINT8, 6, 1, junk.data());
    featreuse::h5::Handle status = featreuse::h5::open_dataset(f, "status");
    const uint8_t pending[3] = {0, 0, 0};
    featreuse::h5::write_rows(status, H5T_NATIVE_UINT8, 5, 3, pending);
    featreuse::h5::set_attribute(f, "complete", int64_t(0));
  }
  EXPECT_THROW(describe_dataset({{"reader", "aptos2019"}, {"cache", cache}, {"root", s.out}}),
               featreuse::Error);
  const PrepareReport resumed = prepare("aptos2019", options, cache);
  EXPECT_FALSE(resumed.already_complete);
  EXPECT_EQ(resumed.processed, 3);
  EXPECT_EQ(resumed.skipped, 2);
  EXPECT_EQ(resumed.mean, first.mean);
  {
    featreuse::h5::Handle f = featreuse::h5::open_serial(cache, featreuse::h5::Access::read_only);
    std::vector<uint8_t> after(3 * 256 * 256);
    featreuse::h5::read_rows(featreuse::h5::open_dataset(f, "images"), H5T_NATIVE_UINT8, 6, 1, after.data());
    EXPECT_EQ(after, before);
  }

  // Other options on the same file: refused without --force.
  LayoutOptions other = options;
  other.split_seed = 7;
  EXPECT_THROW(prepare("aptos2019", other, cache), featreuse::CollectiveError);
  const PrepareReport rebuilt = prepare("aptos2019", other, cache, /*force=*/true);
  EXPECT_EQ(rebuilt.processed, 12);
}

TEST(Prepare, MissingCacheSaysHowToMakeIt) {
  const nlohmann::json config = {{"name", "aptos_test"},      {"reader", "aptos2019"},
                                 {"root", "/data/APTOS2019"}, {"cache", "/nonexistent/aptos2019.h5"},
                                 {"split_seed", 42},          {"holdout", 0.3}};
  try {
    describe_dataset(config);
    FAIL() << "expected an error";
  } catch (const featreuse::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("does not exist"), std::string::npos) << m;
    EXPECT_NE(m.find("featreuse prepare aptos2019 --root /data/APTOS2019 --out /nonexistent/aptos2019.h5"),
              std::string::npos)
        << m;
  }
  nlohmann::json seven = config;
  seven["split_seed"] = 7;
  try {
    describe_dataset(seven);
    FAIL() << "expected an error";
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--split-seed 7"), std::string::npos) << e.what();
  }
  nlohmann::json typo = config;
  typo["cahce"] = "x.h5";
  EXPECT_THROW(describe_dataset(typo), featreuse::Error);
}

TEST(Loader, ShardsAreDisjointAndWorkerErrorsSurface) {
  data_test::TempDir dir("loader");
  SynthOptions s;
  s.layout = "folder";
  s.out = dir / "root";
  s.n = 40;
  write_synthetic(s);
  LayoutOptions options;
  options.root = s.out;
  options.size = 32;
  prepare("folder", options, dir / "f.h5");
  nlohmann::json config = {{"reader", "folder"}, {"root", s.out},    {"cache", dir / "f.h5"},
                           {"size", 32},         {"image_size", 24}, {"resize", 32}};
  auto dataset = open_dataset(config);
  const int64_t n = dataset->size(Split::train);
  std::multiset<int64_t> seen;
  for (int rank = 0; rank < 2; ++rank) {
    StreamOptions o;
    o.batch_size = 4;
    o.shuffle = true;
    o.seed = 11;
    o.epoch = 2;
    o.shard_rank = rank;
    o.shard_count = 2;
    o.augment = true;
    o.workers = 3;
    o.prefetch = 2;
    auto stream = dataset->stream(Split::train, o);
    Batch b;
    std::vector<at::Tensor> first_pass;
    while (stream->next(b)) {
      for (int64_t i = 0; i < b.indices.size(0); ++i) seen.insert(b.indices[i].item<int64_t>());
      first_pass.push_back(b.images);
    }
    // Same seed and epoch, no threads: identical batches (no dependence on scheduling).
    o.workers = 0;
    auto again = dataset->stream(Split::train, o);
    for (const auto& images : first_pass) {
      ASSERT_TRUE(again->next(b));
      EXPECT_TRUE(at::equal(images, b.images));
    }
  }
  EXPECT_EQ(int64_t(seen.size()), n);
  EXPECT_EQ(int64_t(std::set<int64_t>(seen.begin(), seen.end()).size()), n);

  // A cache truncated under the loader: the worker's error reaches next().
  fs::resize_file(dir / "f.h5", 4096 * 4);
  StreamOptions o;
  o.batch_size = 4;
  o.workers = 2;
  auto broken = dataset->stream(Split::train, o);
  Batch b;
  EXPECT_THROW(
      {
        while (broken->next(b)) {
        }
      },
      featreuse::Error);
}

// The public CBIS-DDSM archive (description CSVs, no reference lists) is
// another task than the paper's: cbis_ddsm refuses it and names the dataset
// that reads it, instead of silently becoming benign vs malignant.
TEST(Prepare, CbisDdsmWithoutTheReferenceListsRefusesAndNamesThePathologyTask) {
  data_test::TempDir dir("ddsm-public");
  SynthOptions s;
  s.layout = "cbis_ddsm_pathology";
  s.out = dir / "root";
  s.n = 20;
  write_synthetic(s);
  fs::remove_all(fs::path(s.out) / "ddsm_raw_image_lists");
  LayoutOptions options;
  options.root = s.out;
  try {
    load_layout("cbis_ddsm", options);
    FAIL() << "cbis_ddsm accepted a root without ddsm_raw_image_lists/";
  } catch (const featreuse::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("ddsm_raw_image_lists"), std::string::npos) << message;
    EXPECT_NE(message.find("cbis_ddsm_pathology"), std::string::npos) << message;
  }
  const Layout pathology = load_layout("cbis_ddsm_pathology", options);
  EXPECT_EQ(pathology.class_names, (std::vector<std::string>{"benign", "malignant"}));
  EXPECT_FALSE(pathology.splits[2].empty());
}
