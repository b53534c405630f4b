// Dataset preparation: layout -> decoded, resized uint8 images in an HDF5
// cache. Ranks create the file collectively, take contiguous shares of the
// pending items, decode them on threads and write their rows independently
// (images and sums first, the status byte last, so a crash loses nothing that
// is marked done); a collective finish writes splits, statistics and the
// skipped list and sets `complete`.
#include "featreuse/data/prepare.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "featreuse/core/collective.hpp"
#include "featreuse/core/cores.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/data/cache.hpp"
#include "featreuse/store/h5.hpp"
#include "prepare_decode.hpp"

namespace featreuse::data {

namespace {

namespace fs = std::filesystem;

using detail::Decoded;

enum Status : uint8_t { kPending = 0, kOk = 1, kSkipped = 2 };
// What a run does with the cache file it finds.
enum class Start : int { create = 0, resume = 1, done = 2 };

std::string fixed(const std::string& s, size_t width) {
  std::string out = s.substr(0, width);
  out.resize(width, '\0');
  return out;
}

void write_strings(hid_t file, const std::string& path, const std::vector<std::string>& values, bool writer) {
  size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size());
  h5::Handle type = h5::string_type(width);
  h5::Handle d = h5::create_dataset(file, path, type, {hsize_t(values.size())});
  if (writer && !values.empty()) {
    std::string raw;
    for (const auto& v : values) raw += fixed(v, width);
    h5::write_all(d, type, raw.data());
  }
}

template <typename T>
void write_vector(hid_t file, const std::string& path, hid_t file_type, hid_t mem_type,
                  const std::vector<T>& v, bool writer) {
  if (h5::exists(file, path)) h5::unlink(file, path);
  h5::Handle d = h5::create_dataset(file, path, file_type, {hsize_t(v.size())});
  if (writer && !v.empty()) h5::write_all(d, mem_type, v.data());
}

int mpi_rank(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

// Rank 0 looks at an existing file; every rank learns what to do, or the same error.
Start decide_start(const PrepareOptions& options, const std::string& identity, int64_t items, MPI_Comm comm) {
  const std::string decided = decided_by_rank0(comm, [&] {
    const fs::path out(options.out);
    if (fs::exists(out) && options.force) fs::remove(out);
    if (!fs::exists(out)) {
      if (!out.parent_path().empty()) fs::create_directories(out.parent_path());
      return std::to_string(int(Start::create));
    }
    const CacheInfo info = read_cache_info(options.out);
    if (info.options_json != identity || info.items != items)
      throw Error("'" + options.out + "' was prepared with other options or files (" + info.options_json +
                  ", " + std::to_string(info.items) + " items; now " + identity + ", " +
                  std::to_string(items) + " items); remove it or pass --force to rebuild it");
    return std::to_string(int(info.complete ? Start::done : Start::resume));
  });
  return Start(std::stoi(decided));
}

// The report of a cache a run found complete.
PrepareReport report_of_complete(const PrepareOptions& options, int64_t items, MPI_Comm comm) {
  CacheInfo info;
  all_or_nothing(comm, [&] { info = read_cache_info(options.out); });
  PrepareReport report;
  report.items = items;
  report.already_complete = true;
  report.ok = items - info.skipped;
  report.skipped = info.skipped;
  report.split_sizes = info.split_sizes;
  report.mean = info.mean;
  report.std = info.std;
  report.split_method = info.split_method;
  return report;
}

void write_labels(hid_t file, const Layout& layout, bool writer) {
  const hsize_t n = hsize_t(layout.items.size());
  if (layout.label_kind == LabelKind::multi) {
    const hsize_t k = hsize_t(layout.class_names.size());
    h5::Handle targets = h5::create_dataset(file, "targets", H5T_IEEE_F32LE, {n, k});
    std::vector<float> all;
    for (const auto& item : layout.items) {
      if (item.targets.size() != k) throw Error("prepare: an item has the wrong number of targets");
      all.insert(all.end(), item.targets.begin(), item.targets.end());
    }
    if (writer && n) h5::write_all(targets, H5T_NATIVE_FLOAT, all.data());
  } else {
    h5::Handle labels = h5::create_dataset(file, "labels", H5T_STD_I64LE, {n});
    std::vector<int64_t> all;
    for (const auto& item : layout.items) all.push_back(item.label);
    if (writer && n) h5::write_all(labels, H5T_NATIVE_INT64, all.data());
  }
}

// Collective: the cache file with every dataset allocated, the labels and
// sources written and every item pending (docs/datasets.md, "The cache").
h5::Handle create_cache(const PrepareOptions& options, const Layout& layout, const std::string& identity,
                        MPI_Comm comm) {
  const bool writer = mpi_rank(comm) == 0;
  const int64_t n = int64_t(layout.items.size());
  h5::Handle file = h5::create_parallel(options.out, comm);
  h5::set_attribute(file, "format", kCacheFormat);
  h5::set_attribute(file, "version", kCacheVersion);
  h5::set_attribute(file, "layout", options.layout);
  h5::set_attribute(file, "options", identity);
  h5::set_attribute(file, "root", options.layout_options.root);
  h5::set_attribute(file, "split_method", layout.split_method);
  h5::set_attribute(file, "size", int64_t(layout.size));
  h5::set_attribute(file, "channels", int64_t(layout.channels));
  h5::set_attribute(file, "label_kind", layout.label_kind == LabelKind::multi ? "multi" : "single");
  h5::set_attribute(file, "num_classes", int64_t(layout.class_names.size()));
  h5::set_attribute(file, "items", n);
  h5::set_attribute(file, "complete", int64_t(0));
  const hsize_t hn = hsize_t(n), hc = hsize_t(layout.channels), hs = hsize_t(layout.size);
  h5::create_dataset(file, "images", H5T_STD_U8LE, {hn, hc, hs, hs});
  h5::Handle status = h5::create_dataset(file, "status", H5T_STD_U8LE, {hn});
  h5::Handle errors_type = h5::string_type(kCacheErrorBytes);
  h5::create_dataset(file, "error", errors_type, {hn});
  h5::create_dataset(file, "pixel_sum", H5T_IEEE_F64LE, {hn, hc});
  h5::create_dataset(file, "pixel_sqsum", H5T_IEEE_F64LE, {hn, hc});
  std::vector<std::string> sources;
  for (const auto& item : layout.items) sources.push_back(item.source);
  write_strings(file, "source", sources, writer);
  write_strings(file, "class_names", layout.class_names, writer);
  write_labels(file, layout, writer);
  if (writer && n) {
    const std::vector<uint8_t> pending(size_t(n), kPending);
    h5::write_all(status, H5T_NATIVE_UINT8, pending.data());
  }
  h5::flush(file);
  MPI_Barrier(comm);
  return file;
}

// This rank's contiguous share of the items still pending.
std::vector<int64_t> pending_share(hid_t file, Start start, int64_t n, MPI_Comm comm) {
  std::vector<uint8_t> status(size_t(n), kPending);
  if (start == Start::resume && n)
    h5::read_all(h5::open_dataset(file, "status"), H5T_NATIVE_UINT8, status.data());
  std::vector<int64_t> pending;
  for (int64_t i = 0; i < n; ++i)
    if (status[i] == kPending) pending.push_back(i);
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  const size_t p = pending.size(), rank = size_t(mpi_rank(comm));
  return {pending.begin() + p * rank / ranks, pending.begin() + p * (rank + 1) / ranks};
}

// Writes decoded items into the cache: consecutive good items go out
// together (about 8 MB a write), images and sums before the status byte, so
// a crash leaves nothing marked done that is not on disk.
class RowWriter {
 public:
  RowWriter(hid_t file, const Layout& layout)
      : channels_(layout.channels),
        max_rows_(std::max<size_t>(
            1, (8u << 20) / std::max<size_t>(1, size_t(layout.channels) * layout.size * layout.size))),
        images_(h5::open_dataset(file, "images")),
        sums_(h5::open_dataset(file, "pixel_sum")),
        sqsums_(h5::open_dataset(file, "pixel_sqsum")),
        status_(h5::open_dataset(file, "status")),
        errors_(h5::open_dataset(file, "error")),
        error_type_(h5::string_type(kCacheErrorBytes)) {}

  void write(Decoded& d) {
    if (!d.error.empty()) return skip(d);
    const int64_t next = first_ < 0 ? -1 : first_ + rows();
    if (first_ >= 0 && (d.item != next || size_t(rows()) >= max_rows_)) flush();
    if (first_ < 0) first_ = d.item;
    pixels_.insert(pixels_.end(), d.planes.begin(), d.planes.end());
    sum_.insert(sum_.end(), d.sum, d.sum + channels_);
    sq_.insert(sq_.end(), d.sqsum, d.sqsum + channels_);
  }

  void flush() {
    if (first_ < 0) return;
    const hsize_t count = hsize_t(rows());
    h5::write_rows(images_, H5T_NATIVE_UINT8, hsize_t(first_), count, pixels_.data());
    h5::write_rows(sums_, H5T_NATIVE_DOUBLE, hsize_t(first_), count, sum_.data());
    h5::write_rows(sqsums_, H5T_NATIVE_DOUBLE, hsize_t(first_), count, sq_.data());
    const std::vector<uint8_t> ok(count, kOk);
    h5::write_rows(status_, H5T_NATIVE_UINT8, hsize_t(first_), count, ok.data());  // last
    first_ = -1;
    pixels_.clear();
    sum_.clear();
    sq_.clear();
  }

  int64_t skipped() const { return skipped_; }

 private:
  int64_t rows() const { return int64_t(sum_.size()) / channels_; }
  void skip(const Decoded& d) {
    flush();
    const std::string text = fixed(d.error, kCacheErrorBytes);
    h5::write_rows(errors_, error_type_, hsize_t(d.item), 1, text.data());
    const uint8_t skipped = kSkipped;
    h5::write_rows(status_, H5T_NATIVE_UINT8, hsize_t(d.item), 1, &skipped);
    ++skipped_;
  }

  const int channels_;
  const size_t max_rows_;
  h5::Handle images_, sums_, sqsums_, status_, errors_, error_type_;
  int64_t first_ = -1, skipped_ = 0;
  std::vector<uint8_t> pixels_;
  std::vector<double> sum_, sq_;
};

// Decodes this rank's share on its threads and writes it; collective in its errors.
void decode_share(const PrepareOptions& options, const Layout& layout, hid_t file,
                  const std::vector<int64_t>& mine, int threads, MPI_Comm comm) {
  const bool report = mpi_rank(comm) == 0;
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  RowWriter writer(file, layout);
  ProgressLog progress("prepare " + options.layout + (ranks > 1 ? " (rank 0's share)" : ""),
                       int64_t(mine.size()), "img", options.log_interval_s);
  int64_t done = 0;
  all_or_nothing(comm, [&] {
    detail::decode_in_order(layout, mine, threads, [&](Decoded& d) {
      // Decoding threads may be in HDF5 too (PCam's source files).
      std::lock_guard<std::mutex> guard(hdf5_mutex());
      writer.write(d);
      ++done;
      if (report)
        progress.update(done, writer.skipped() ? std::to_string(writer.skipped()) + " skipped" : "");
    });
    writer.flush();
  });
}

// "source: reason" of every skipped item; throws if an item is still pending.
std::vector<std::string> skipped_items(hid_t file, const Layout& layout, const std::vector<uint8_t>& status) {
  h5::Handle errors = h5::open_dataset(file, "error"), error_type = h5::string_type(kCacheErrorBytes);
  std::vector<std::string> out;
  for (size_t i = 0; i < status.size(); ++i) {
    if (status[i] == kPending)
      throw Error("prepare: item " + std::to_string(i) + " is still pending after every rank finished");
    if (status[i] != kSkipped) continue;
    std::string reason(kCacheErrorBytes, '\0');
    h5::read_rows(errors, error_type, hsize_t(i), 1, reason.data());
    reason.resize(strnlen(reason.data(), kCacheErrorBytes));
    out.push_back(layout.items[i].source + ": " + reason);
  }
  return out;
}

// Per-channel mean and standard deviation of the training split, in ToTensor units ([0, 1]).
std::pair<std::vector<double>, std::vector<double>> train_statistics(hid_t file, const Layout& layout,
                                                                     const std::vector<int64_t>& train) {
  const int c = layout.channels;
  const size_t n = layout.items.size();
  std::vector<double> all_sum(n * c), all_sq(n * c);
  if (n) {
    h5::read_all(h5::open_dataset(file, "pixel_sum"), H5T_NATIVE_DOUBLE, all_sum.data());
    h5::read_all(h5::open_dataset(file, "pixel_sqsum"), H5T_NATIVE_DOUBLE, all_sq.data());
  }
  std::vector<double> mean(c, 0.0), stdev(c, 0.0);
  const double pixels = double(train.size()) * layout.size * layout.size;
  for (int ch = 0; ch < c; ++ch) {
    double sum = 0, sq = 0;
    for (int64_t pos : train) {
      sum += all_sum[size_t(pos) * c + ch];
      sq += all_sq[size_t(pos) * c + ch];
    }
    if (pixels > 0) {
      mean[ch] = sum / pixels;
      stdev[ch] = std::sqrt(std::max(0.0, sq / pixels - mean[ch] * mean[ch]));
    }
  }
  return {mean, stdev};
}

// Collective, after every rank's rows are on disk: the splits (of the items
// decoded), the statistics and the skipped list, then `complete`.
void finish_cache(hid_t file, const std::string& path, const Layout& layout, MPI_Comm comm,
                  PrepareReport& report) {
  const bool writer = mpi_rank(comm) == 0;
  const int64_t n = int64_t(layout.items.size());
  std::vector<uint8_t> status(size_t(n), kPending);
  if (n) h5::read_all(h5::open_dataset(file, "status"), H5T_NATIVE_UINT8, status.data());
  const std::vector<std::string> skipped = skipped_items(file, layout, status);
  std::array<std::vector<int64_t>, 3> splits;
  for (int k = 0; k < 3; ++k)
    for (int64_t pos : layout.splits[k])
      if (status[pos] == kOk) splits[k].push_back(pos);
  auto [mean, stdev] = train_statistics(file, layout, splits[0]);
  const char* names[3] = {"splits/train", "splits/val", "splits/test"};
  for (int k = 0; k < 3; ++k)
    write_vector(file, names[k], H5T_STD_I64LE, H5T_NATIVE_INT64, splits[k], writer);
  write_vector(file, "stats/mean", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, mean, writer);
  write_vector(file, "stats/std", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, stdev, writer);
  if (h5::exists(file, "skipped")) h5::unlink(file, "skipped");
  write_strings(file, "skipped", skipped, writer);
  h5::set_attribute(file, "skipped", int64_t(skipped.size()));
  h5::flush(file);
  h5::set_attribute(file, "complete", int64_t(1));
  h5::flush(file);

  report.skipped = int64_t(skipped.size());
  report.ok = n - report.skipped;
  for (int k = 0; k < 3; ++k) report.split_sizes[k] = int64_t(splits[k].size());
  report.mean = mean;
  report.std = stdev;
  if (!writer) return;
  const size_t shown = std::min<size_t>(skipped.size(), 50);
  for (size_t i = 0; i < shown; ++i) spdlog::warn("skipped {}", skipped[i]);
  if (shown < skipped.size())
    spdlog::warn("... and {} more skipped items (all listed in /skipped of '{}')", skipped.size() - shown,
                 path);
}

}  // namespace

PrepareReport prepare_cache(const PrepareOptions& options, MPI_Comm comm) {
  Stopwatch clock;
  if (options.out.empty()) throw Error("prepare: no output cache file given");
  const bool rank0 = mpi_rank(comm) == 0;
  // Every rank lists the items itself (tables are small next to the images).
  Layout layout;
  all_or_nothing(comm, [&] { layout = load_layout(options.layout, options.layout_options); });
  const int64_t n = int64_t(layout.items.size());
  if (rank0) {  // before hours of decoding: the items the layout already knows it cannot use
    std::vector<std::string> unusable;
    for (const Item& item : layout.items)
      if (!item.invalid.empty()) unusable.push_back(item.source + ": " + item.invalid);
    if (!unusable.empty()) {
      std::string first;
      for (size_t i = 0; i < unusable.size() && i < 5; ++i) first += "\n  " + unusable[i];
      spdlog::warn("{} of {} items cannot be used and will be skipped{}:{}", unusable.size(), n,
                   unusable.size() > 5 ? " (the first 5)" : "", first);
    }
  }
  const std::string identity = layout_identity(options.layout, options.layout_options).dump();

  const Start start = decide_start(options, identity, n, comm);
  if (start == Start::done) {
    if (rank0) spdlog::info("'{}' is already prepared ({} items); nothing to do", options.out, n);
    return report_of_complete(options, n, comm);
  }
  // HDF5 calls below are collective: a failure shows on every rank.
  h5::Handle file = start == Start::create ? create_cache(options, layout, identity, comm)
                                           : h5::open_parallel(options.out, comm, h5::Access::read_write);
  if (start == Start::resume && rank0) spdlog::info("resuming the unfinished cache '{}'", options.out);

  const std::vector<int64_t> mine = pending_share(file, start, n, comm);
  int64_t processed = int64_t(mine.size());
  MPI_Allreduce(MPI_IN_PLACE, &processed, 1, MPI_INT64_T, MPI_SUM, comm);
  const int threads = options.threads > 0 ? options.threads : threads_per_rank(comm);
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  if (rank0)
    spdlog::info("prepare {}: {} items, {} to decode on {} rank(s) x {} thread(s), {}x{}x{} into '{}'",
                 options.layout, n, processed, ranks, threads, layout.channels, layout.size, layout.size,
                 options.out);
  decode_share(options, layout, file, mine, threads, comm);

  // Collective finish: everyone sees every rank's rows after flush + barrier.
  h5::flush(file);
  MPI_Barrier(comm);
  h5::flush(file);
  PrepareReport report;
  report.items = n;
  report.split_method = layout.split_method;
  report.processed = processed;
  finish_cache(file, options.out, layout, comm, report);
  file.reset();
  report.seconds = clock.seconds();
  if (rank0)
    spdlog::info("prepared '{}': {} items, {} ok, {} skipped, decoded {} in {} ({:.1f} img/s)", options.out,
                 n, report.ok, report.skipped, processed, format_duration(report.seconds),
                 report.seconds > 0 ? double(processed) / report.seconds : 0.0);
  return report;
}

}  // namespace featreuse::data
