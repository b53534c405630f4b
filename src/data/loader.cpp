// The prepared-cache dataset and its batch stream (loader.hpp).
#include "featreuse/data/loader.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "featreuse/core/cores.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/data/cache.hpp"
#include "featreuse/data/memory_dataset.hpp"
#include "featreuse/store/h5.hpp"

namespace featreuse::data {

void single_threaded_aten() {
  at::get_num_threads();  // lets ATen's lazy per-thread setup run first
  omp_set_num_threads(1);
}

namespace {

std::string cache_problem(const CacheDatasetOptions& o, const std::string& what) {
  return "dataset '" + o.name + "': " + what +
         (o.prepare_hint.empty() ? "" : "; make it with: " + o.prepare_hint);
}

// Checks the cache against the config; returns its info.
CacheInfo checked_info(const CacheDatasetOptions& o) {
  if (o.cache.empty()) throw Error("dataset '" + o.name + "': no 'cache' file configured");
  CacheInfo info;
  try {
    info = read_cache_info(o.cache);
  } catch (const Error& e) {
    throw Error(cache_problem(o, e.what()));
  }
  if (!info.complete)
    throw Error(cache_problem(o, "prepared cache '" + o.cache +
                                     "' is unfinished (an interrupted prepare; "
                                     "running the same command again finishes it)"));
  if (!o.reader.empty() && info.layout != o.reader)
    throw Error("dataset '" + o.name + "': '" + o.cache + "' holds a '" + info.layout + "' dataset, not '" +
                o.reader + "'");
  if (!o.expected_identity.empty() && info.options_json != o.expected_identity)
    throw Error(cache_problem(o, "'" + o.cache + "' was prepared with " + info.options_json +
                                     " but the config asks for " + o.expected_identity +
                                     " (use another cache file for these options)"));
  if (o.image_size <= 0 || o.resize < o.image_size)
    throw Error("dataset '" + o.name + "': image_size " + std::to_string(o.image_size) + " and resize " +
                std::to_string(o.resize) + " need 0 < image_size <= resize");
  for (int s = 0; s < 3; ++s)
    if (info.split_sizes[s] == 0 && s == 0) throw Error("dataset '" + o.name + "': the train split is empty");
  return info;
}

DatasetInfo make_info(const CacheDatasetOptions& o, const CacheInfo& cache) {
  DatasetInfo info;
  info.name = o.name;
  info.reader = o.reader.empty() ? cache.layout : o.reader;
  info.channels = cache.channels;
  info.image_size = o.image_size;
  info.num_classes = cache.num_classes;
  info.labels = cache.label_kind;
  info.split_sizes = cache.split_sizes;
  info.class_names = cache.class_names;
  info.target_metric = o.target_metric;
  info.mean = o.mean.empty() ? cache.mean : o.mean;
  info.stddev = o.std.empty() ? cache.std : o.std;
  info.source = o.cache;
  if (int64_t(info.mean.size()) != info.channels || int64_t(info.stddev.size()) != info.channels)
    throw Error("dataset '" + o.name + "': mean and std need " + std::to_string(info.channels) +
                " value(s), one per channel of the cache");
  for (double s : info.stddev)
    if (!(s > 0)) throw Error("dataset '" + o.name + "': std values must be positive");
  return info;
}

// Positional reads of image rows at the contiguous dataset's file offset:
// no HDF5 call (the library is not thread-safe) on the loader threads.
class RowReader {
 public:
  explicit RowReader(const std::string& path) : path_(path) {
    {
      h5::Handle file = h5::open_serial(path, h5::Access::read_only);
      h5::Handle dataset = h5::open_dataset(file, "images");
      const auto d = h5::dims(dataset);
      if (d.size() != 4) throw Error("'" + path + "': /images is not N x C x S x S");
      rows_ = int64_t(d[0]);
      row_bytes_ = size_t(d[1] * d[2] * d[3]);
      const haddr_t offset = H5Dget_offset(dataset);
      if (offset == HADDR_UNDEF) {
        H5Eclear2(H5E_DEFAULT);
        throw Error("'" + path +
                    "': /images is not stored contiguously (a repacked cache?); prepare it again, or "
                    "h5repack -l images:CONTI it");
      }
      offset_ = off_t(offset);
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  }
  ~RowReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  RowReader(const RowReader&) = delete;
  RowReader& operator=(const RowReader&) = delete;

  size_t row_bytes() const { return row_bytes_; }

  void read(int64_t row, uint8_t* out) const {
    if (row < 0 || row >= rows_)
      throw Error("'" + path_ + "': image row " + std::to_string(row) + " out of range");
    size_t done = 0;
    const off_t at = offset_ + off_t(row) * off_t(row_bytes_);
    while (done < row_bytes_) {
      const ssize_t got = ::pread(fd_, out + done, row_bytes_ - done, at + off_t(done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0)
        throw Error("reading image row " + std::to_string(row) + " of '" + path_ +
                    "' failed: " + (got < 0 ? std::strerror(errno) : "file is truncated"));
      done += size_t(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  off_t offset_ = 0;
  int64_t rows_ = 0;
  size_t row_bytes_ = 0;
};

// Recycles a dataset's batch buffers (uint8 input, float output) across its
// streams (a trainer opens one per epoch): a
// 64 x 3 x 224 x 224 float batch is 38 MB, which malloc maps and unmaps afresh
// each time (page faults and zeroing cost ~15-25% of the loader). Tensors
// hand their buffer back when dropped; buffers outliving the pool are freed.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  BufferPool(size_t bytes, size_t keep, at::ScalarType dtype) : bytes_(bytes), keep_(keep), dtype_(dtype) {}
  ~BufferPool() {
    for (void* p : free_) std::free(p);
  }
  at::Tensor empty(at::IntArrayRef sizes) {
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> guard(lock_);
      if (!free_.empty()) {
        p = free_.back();
        free_.pop_back();
      }
    }
    if (!p) p = std::aligned_alloc(64, (bytes_ + 63) / 64 * 64);
    if (!p) throw Error("out of memory for a batch");
    std::weak_ptr<BufferPool> owner = shared_from_this();
    return at::from_blob(
        p, sizes,
        [owner](void* q) {
          if (auto pool = owner.lock())
            pool->give(q);
          else
            std::free(q);
        },
        at::TensorOptions().dtype(dtype_));
  }

  void keep_at_least(size_t keep) {
    std::lock_guard<std::mutex> guard(lock_);
    keep_ = std::max(keep_, keep);
  }

 private:
  void give(void* p) {
    std::lock_guard<std::mutex> guard(lock_);
    if (free_.size() < keep_)
      free_.push_back(p);
    else
      std::free(p);
  }
  size_t bytes_, keep_;
  at::ScalarType dtype_;
  std::mutex lock_;
  std::vector<void*> free_;
};

struct CacheData {
  DatasetInfo info;
  std::unique_ptr<RowReader> rows;
  int64_t stored_size = 0, resize = 256;
  std::array<std::vector<int64_t>, 3> splits;  // cache rows
  at::Tensor labels;                           // all items: int64 N or float N x K
  at::Tensor mean, std;                        // float C, CPU
  AugmentOptions augment;

  // Batch buffer pools by (bytes, dtype), shared by the dataset's streams.
  std::shared_ptr<BufferPool> pool(size_t bytes, at::ScalarType dtype, size_t keep) const {
    std::lock_guard<std::mutex> guard(pool_lock);
    auto& p = pools[{bytes, int(dtype)}];
    if (!p) p = std::make_shared<BufferPool>(bytes, keep, dtype);
    p->keep_at_least(keep);
    return p;
  }
  mutable std::mutex pool_lock;
  mutable std::map<std::pair<size_t, int>, std::shared_ptr<BufferPool>> pools;
};

class CacheStream : public BatchStream {
 public:
  CacheStream(std::shared_ptr<const CacheData> data, Split split, const StreamOptions& options)
      : data_(std::move(data)), rows_(data_->splits[int(split)]), options_(options) {
    order_ = epoch_order(int64_t(rows_.size()), options);
    const int64_t b = options.batch_size;
    batches_ = (int64_t(order_.size()) + b - 1) / b;
    mean_ = data_->mean.to(options.device);
    std_ = data_->std.to(options.device);
    augment_seed_ = derive_seed(options.seed, "augment", uint64_t(options.epoch));
    int workers = options.workers;
    if (workers < 0) workers = std::min(4, std::max(1, usable_cores() / 2));
    workers = int(std::min<int64_t>(workers, batches_));
    window_ = std::max<int64_t>(std::max(1, options.prefetch), workers);
    if (options.device.is_cpu()) {
      const size_t c = size_t(data_->info.channels), side = size_t(data_->info.image_size);
      const size_t stored = size_t(data_->stored_size);
      inputs_ = data_->pool(size_t(options.batch_size) * c * stored * stored, at::kByte, size_t(workers + 1));
      if (options.augment)
        buffers_ = data_->pool(size_t(options.batch_size) * c * side * side * sizeof(float), at::kFloat,
                               size_t(window_ + workers + 2));
    }
    for (int t = 0; t < workers; ++t) pool_.emplace_back([this] { work(); });
  }

  ~CacheStream() override {
    {
      std::lock_guard<std::mutex> guard(lock_);
      stop_ = true;
    }
    changed_.notify_all();
    for (auto& t : pool_) t.join();
  }

  bool next(Batch& out) override {
    if (returned_ >= batches_) return false;
    if (pool_.empty()) {
      out = make(returned_++);
      return true;
    }
    std::unique_lock<std::mutex> guard(lock_);
    changed_.wait(guard, [&] { return ready_.count(returned_) > 0; });
    Result r = std::move(ready_[returned_]);
    ready_.erase(returned_);
    ++returned_;
    guard.unlock();
    changed_.notify_all();
    if (r.error) {
      try {
        std::rethrow_exception(r.error);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        throw Error("loading a batch of '" + data_->info.name + "' failed: " + e.what());
      }
    }
    out = std::move(r.batch);
    return true;
  }

  int64_t num_batches() const override { return batches_; }

 private:
  struct Result {
    Batch batch;
    std::exception_ptr error;
  };

  void work() {
    single_threaded_aten();
    while (true) {
      int64_t k;
      {
        std::unique_lock<std::mutex> guard(lock_);
        changed_.wait(guard,
                      [&] { return stop_ || (scheduled_ < batches_ && scheduled_ < returned_ + window_); });
        if (stop_ || scheduled_ >= batches_) return;
        k = scheduled_++;
      }
      Result r;
      try {
        r.batch = make(k);
      } catch (...) {
        r.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> guard(lock_);
        ready_[k] = std::move(r);
      }
      changed_.notify_all();
    }
  }

  Batch make(int64_t k) const {
    const int64_t b = options_.batch_size, first = k * b;
    const int64_t n = std::min<int64_t>(b, int64_t(order_.size()) - first);
    const CacheData& d = *data_;
    const int64_t c = d.info.channels, s = d.stored_size;
    at::Tensor images;
    if (inputs_) {
      images = inputs_->empty({n, c, s, s});
    } else {  // for a device: pinned, so the copy can overlap
      images = at::empty({n, c, s, s},
                         at::TensorOptions().dtype(at::kByte).pinned_memory(options_.device.is_cuda()));
    }
    std::vector<int64_t> positions(order_.begin() + first, order_.begin() + first + n), rows(n);
    uint8_t* dst = images.data_ptr<uint8_t>();
    for (int64_t j = 0; j < n; ++j) {
      rows[j] = rows_[positions[j]];
      d.rows->read(rows[j], dst + size_t(j) * d.rows->row_bytes());
    }
    Batch batch;
    const at::Tensor index = at::tensor(rows, at::kLong);
    batch.labels = d.labels.index_select(0, index).to(options_.device);
    batch.indices = at::tensor(positions, at::kLong);
    const at::Tensor x = images.to(options_.device, /*non_blocking=*/true);
    if (options_.augment) {
      std::vector<SampleAugment> params(n);
      for (int64_t j = 0; j < n; ++j)
        params[j] = sample_augment(d.resize, d.resize, d.augment,
                                   derive_seed(augment_seed_, "sample", uint64_t(positions[j])));
      at::Tensor out;
      if (buffers_) out = buffers_->empty({n, d.info.channels, d.info.image_size, d.info.image_size});
      batch.images = augment_batch(x, params, d.resize, d.info.image_size, mean_, std_, out);
    } else {
      batch.images = eval_batch(x, d.resize, d.info.image_size, mean_, std_);
    }
    return batch;
  }

  std::shared_ptr<const CacheData> data_;
  std::shared_ptr<BufferPool> inputs_, buffers_;
  const std::vector<int64_t>& rows_;
  StreamOptions options_;
  std::vector<int64_t> order_;
  int64_t batches_ = 0, window_ = 1;
  at::Tensor mean_, std_;
  uint64_t augment_seed_ = 0;
  std::mutex lock_;
  std::condition_variable changed_;
  std::map<int64_t, Result> ready_;
  int64_t scheduled_ = 0, returned_ = 0;
  bool stop_ = false;
  std::vector<std::thread> pool_;
};

class CacheDataset : public Dataset {
 public:
  explicit CacheDataset(std::shared_ptr<const CacheData> data) : data_(std::move(data)) {}
  const DatasetInfo& info() const override { return data_->info; }
  std::unique_ptr<BatchStream> stream(Split split, const StreamOptions& options) const override {
    if (options.batch_size <= 0) throw Error("batch size must be positive");
    if (options.shard_count < 1 || options.shard_rank < 0 || options.shard_rank >= options.shard_count)
      throw Error("shard " + std::to_string(options.shard_rank) + " of " +
                  std::to_string(options.shard_count) + " is not a valid shard");
    return std::make_unique<CacheStream>(data_, split, options);
  }

 private:
  std::shared_ptr<const CacheData> data_;
};

template <typename T>
std::vector<T> read_vector(hid_t file, const std::string& path, hid_t type) {
  h5::Handle d = h5::open_dataset(file, path);
  const auto dims = h5::dims(d);
  size_t n = 1;
  for (auto v : dims) n *= v;
  std::vector<T> out(n);
  if (n) h5::read_all(d, type, out.data());
  return out;
}

}  // namespace

DatasetInfo describe_cache_dataset(const CacheDatasetOptions& options) {
  return make_info(options, checked_info(options));
}

std::unique_ptr<Dataset> open_cache_dataset(const CacheDatasetOptions& options) {
  const CacheInfo cache = checked_info(options);
  auto data = std::make_shared<CacheData>();
  data->info = make_info(options, cache);
  data->stored_size = cache.size;
  data->resize = options.resize;
  data->augment = options.augment;
  {
    h5::Handle file = h5::open_serial(options.cache, h5::Access::read_only);
    const char* names[3] = {"splits/train", "splits/val", "splits/test"};
    for (int s = 0; s < 3; ++s) data->splits[s] = read_vector<int64_t>(file, names[s], H5T_NATIVE_INT64);
    if (cache.label_kind == LabelKind::multi) {
      auto t = read_vector<float>(file, "targets", H5T_NATIVE_FLOAT);
      data->labels = at::tensor(t).view({cache.items, cache.num_classes});
    } else {
      data->labels = at::tensor(read_vector<int64_t>(file, "labels", H5T_NATIVE_INT64), at::kLong);
    }
  }
  std::vector<float> m(data->info.mean.begin(), data->info.mean.end());
  std::vector<float> sd(data->info.stddev.begin(), data->info.stddev.end());
  data->mean = at::tensor(m);
  data->std = at::tensor(sd);
  data->rows = std::make_unique<RowReader>(options.cache);
  return std::make_unique<CacheDataset>(std::move(data));
}

}  // namespace featreuse::data
