// Fashion-MNIST from the gzipped IDX files of Debian's dataset-fashion-mnist
// (/usr/share/datasets/fashion-mnist). A class subset is relabelled 0..k-1 in
// the order given; validation is a seeded share of the official training set.
#include <ATen/ATen.h>
#include <zlib.h>

#include <filesystem>

#include "featreuse/core/error.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/data/memory_dataset.hpp"
#include "featreuse/data/readers.hpp"
#include "featreuse/data/registry.hpp"

namespace featreuse::data {

namespace {

const char* kClassNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                               "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
constexpr uint64_t kSplitSeed = 42;

struct Config {
  std::string name, root, target_metric;
  std::vector<int64_t> classes;  // original class ids, in new label order
  int64_t val_size = 0;
  std::vector<double> mean, std;
};

Config parse(const nlohmann::json& c) {
  Config out;
  out.name = c.value("name", std::string("fashion_mnist"));
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!c.contains(key)) throw Error("dataset '" + out.name + "': missing key '" + key + "'");
    return c[key];
  };
  out.root = need("root").get<std::string>();
  out.val_size = need("val_size").get<int64_t>();
  out.mean = need("mean").get<std::vector<double>>();
  out.std = need("std").get<std::vector<double>>();
  out.target_metric = c.value("target_metric", std::string("accuracy"));
  if (c.contains("classes") && !c["classes"].is_null())
    out.classes = c["classes"].get<std::vector<int64_t>>();
  if (out.classes.empty())
    for (int64_t k = 0; k < 10; ++k) out.classes.push_back(k);
  for (int64_t k : out.classes)
    if (k < 0 || k > 9)
      throw Error("dataset '" + out.name + "': class " + std::to_string(k) + " is not in 0..9");
  return out;
}

// Reads a whole gzip file; IDX files are small (<= 47 MB unpacked).
std::vector<uint8_t> read_gzip(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw Error("Fashion-MNIST file '" + path +
                "' does not exist (install Debian's dataset-fashion-mnist "
                "or set the dataset's root)");
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw Error("cannot open '" + path + "'");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(file, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  const bool failed = n < 0;
  gzclose(file);
  if (failed) throw Error("'" + path + "' is not a readable gzip file");
  return out;
}

uint32_t big_endian(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

// IDX: magic 0x00000801 (labels) or 0x00000803 (images), then big-endian dims.
std::vector<uint8_t> read_idx(const std::string& path, uint32_t magic, std::vector<int64_t>& dims) {
  std::vector<uint8_t> bytes = read_gzip(path);
  const size_t ndim = magic & 0xff;
  if (bytes.size() < 4 + 4 * ndim || big_endian(bytes, 0) != magic)
    throw Error("'" + path + "' is not an IDX file of the expected kind");
  size_t count = 1;
  dims.clear();
  for (size_t d = 0; d < ndim; ++d) {
    dims.push_back(big_endian(bytes, 4 + 4 * d));
    count *= dims.back();
  }
  const size_t header = 4 + 4 * ndim;
  if (bytes.size() != header + count)
    throw Error("'" + path + "' is truncated or has trailing data (" + std::to_string(bytes.size()) +
                " bytes, expected " + std::to_string(header + count) + ")");
  bytes.erase(bytes.begin(), bytes.begin() + header);
  return bytes;
}

std::string file_in(const Config& c, const char* stem) { return c.root + "/" + stem; }

// Positions (in the official file) of the kept classes, and their new labels.
void select(const std::vector<uint8_t>& labels, const Config& c, std::vector<int64_t>& positions,
            std::vector<int64_t>& new_labels) {
  int64_t relabel[10];
  std::fill(relabel, relabel + 10, -1);
  for (size_t i = 0; i < c.classes.size(); ++i) relabel[c.classes[i]] = int64_t(i);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] > 9) throw Error("Fashion-MNIST label " + std::to_string(labels[i]) + " out of range");
    if (relabel[labels[i]] >= 0) {
      positions.push_back(int64_t(i));
      new_labels.push_back(relabel[labels[i]]);
    }
  }
}

DatasetInfo make_info(const Config& c, int64_t n_train_pool, int64_t n_test) {
  DatasetInfo info;
  info.name = c.name;
  info.reader = "fashion_mnist";
  info.channels = 1;
  info.image_size = 28;
  info.num_classes = int64_t(c.classes.size());
  info.labels = LabelKind::single;
  info.target_metric = c.target_metric;
  info.mean = c.mean;
  info.stddev = c.std;
  for (int64_t k : c.classes) info.class_names.push_back(kClassNames[k]);
  if (c.val_size < 0 || c.val_size >= n_train_pool)
    throw Error("dataset '" + c.name + "': val_size " + std::to_string(c.val_size) + " must be in [0, " +
                std::to_string(n_train_pool) + ")");
  info.split_sizes = {n_train_pool - c.val_size, c.val_size, n_test};
  return info;
}

DatasetInfo describe(const nlohmann::json& config) {
  const Config c = parse(config);
  std::vector<int64_t> dims, train_pos, train_lab, test_pos, test_lab;
  select(read_idx(file_in(c, "train-labels-idx1-ubyte.gz"), 0x801, dims), c, train_pos, train_lab);
  select(read_idx(file_in(c, "t10k-labels-idx1-ubyte.gz"), 0x801, dims), c, test_pos, test_lab);
  if (!std::filesystem::exists(file_in(c, "train-images-idx3-ubyte.gz")) ||
      !std::filesystem::exists(file_in(c, "t10k-images-idx3-ubyte.gz")))
    throw Error("Fashion-MNIST image files missing under '" + c.root + "'");
  return make_info(c, int64_t(train_pos.size()), int64_t(test_pos.size()));
}

SplitData gather(const std::vector<uint8_t>& images, const std::vector<int64_t>& dims,
                 const std::vector<int64_t>& positions, const std::vector<int64_t>& labels,
                 const std::vector<int64_t>& take) {
  const int64_t h = dims[1], w = dims[2];
  at::Tensor all = at::from_blob(const_cast<uint8_t*>(images.data()), {dims[0], 1, h, w}, at::kByte);
  std::vector<int64_t> rows, ys;
  for (int64_t t : take) {
    rows.push_back(positions[t]);
    ys.push_back(labels[t]);
  }
  return {all.index_select(0, at::tensor(rows, at::kLong)).clone(), at::tensor(ys, at::kLong)};
}

std::unique_ptr<Dataset> open(const nlohmann::json& config) {
  const Config c = parse(config);
  std::vector<int64_t> label_dims, train_dims, test_dims, train_pos, train_lab, test_pos, test_lab;
  select(read_idx(file_in(c, "train-labels-idx1-ubyte.gz"), 0x801, label_dims), c, train_pos, train_lab);
  select(read_idx(file_in(c, "t10k-labels-idx1-ubyte.gz"), 0x801, label_dims), c, test_pos, test_lab);
  const auto train_images = read_idx(file_in(c, "train-images-idx3-ubyte.gz"), 0x803, train_dims);
  const auto test_images = read_idx(file_in(c, "t10k-images-idx3-ubyte.gz"), 0x803, test_dims);
  DatasetInfo info = make_info(c, int64_t(train_pos.size()), int64_t(test_pos.size()));

  // Validation: the first val_size of a seed-42 shuffle of the kept training images.
  const auto order = shuffled_range(int64_t(train_pos.size()), kSplitSeed);
  std::vector<int64_t> val_take(order.begin(), order.begin() + c.val_size);
  std::vector<int64_t> train_take(order.begin() + c.val_size, order.end());
  std::sort(val_take.begin(), val_take.end());
  std::sort(train_take.begin(), train_take.end());
  std::vector<int64_t> test_take(test_pos.size());
  for (size_t i = 0; i < test_take.size(); ++i) test_take[i] = int64_t(i);

  std::array<SplitData, 3> splits = {gather(train_images, train_dims, train_pos, train_lab, train_take),
                                     gather(train_images, train_dims, train_pos, train_lab, val_take),
                                     gather(test_images, test_dims, test_pos, test_lab, test_take)};
  return std::make_unique<InMemoryDataset>(std::move(info), std::move(splits), c.mean, c.std);
}

}  // namespace

void register_fashion_mnist_reader() {
  register_reader(
      {"fashion_mnist", "Fashion-MNIST gzipped IDX files (Debian dataset-fashion-mnist)", describe, open});
}

}  // namespace featreuse::data
