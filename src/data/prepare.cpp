// Dataset preparation: layout -> decoded, resized uint8 images in an HDF5
// cache. Ranks create the file collectively, take contiguous shares of the
// pending items, decode them on threads and write their rows independently
// (images and sums first, the status byte last, so a crash loses nothing that
// is marked done); a collective finish writes splits, statistics and the
// skipped list and sets `complete`.
#include "featreuse/data/prepare.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/data/cache.hpp"
#include "featreuse/store/h5.hpp"

namespace featreuse::data {

namespace {

namespace fs = std::filesystem;

enum Status : uint8_t { kPending = 0, kOk = 1, kSkipped = 2 };
enum Decision : int { kCreate = 0, kDone = 1, kResume = 2, kFail = 3 };

struct Decoded {
  int64_t item = -1;
  std::vector<uint8_t> planes;  // C x S x S
  double sum[3] = {0, 0, 0}, sqsum[3] = {0, 0, 0};
  std::string error;  // non-empty: skipped
};

void broadcast(std::string& s, MPI_Comm comm) {
  int64_t n = int64_t(s.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  s.resize(size_t(n));
  if (n) MPI_Bcast(s.data(), int(n), MPI_CHAR, 0, comm);
}

int default_threads(MPI_Comm comm) {
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local = 1;
  MPI_Comm_size(node, &local);
  MPI_Comm_free(&node);
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local));
}

Decoded decode_item(const Layout& layout, int64_t index) {
  Decoded out;
  out.item = index;
  const Item& item = layout.items[index];
  if (!item.invalid.empty()) {
    out.error = item.invalid;
    return out;
  }
  try {
    Image image = layout.load(item, layout.size);
    if (image.channels != layout.channels) image = convert_channels(image, layout.channels);
    if (image.width != layout.size || image.height != layout.size)
      image = resize_bilinear(image, layout.size, layout.size);
    const size_t plane = size_t(layout.size) * layout.size;
    const int c = layout.channels;
    out.planes.resize(plane * c);
    for (int ch = 0; ch < c; ++ch) {
      uint8_t* dst = out.planes.data() + plane * ch;
      const uint8_t* src = image.pixels.data() + ch;
      uint64_t s = 0, q = 0;
      for (size_t i = 0; i < plane; ++i) {
        const uint8_t v = src[i * c];
        dst[i] = v;
        s += v;
        q += uint64_t(v) * v;
      }
      out.sum[ch] = double(s) / 255.0;
      out.sqsum[ch] = double(q) / (255.0 * 255.0);
    }
  } catch (const Error& e) {
    out.planes.clear();
    out.error = e.what();
  }
  return out;
}

// Decodes `work` (item positions) on `threads` threads and hands results to
// `consume` in order, with a bounded window between the two.
template <typename Consume>
void decode_in_order(const Layout& layout, const std::vector<int64_t>& work, int threads, Consume consume) {
  const size_t window = size_t(std::max(4, 4 * threads));
  std::vector<std::optional<Decoded>> ring(window);
  std::mutex lock;
  std::condition_variable changed;
  size_t consumed = 0;
  std::atomic<size_t> next{0};
  bool abort = false;
  std::exception_ptr failure;
  auto worker = [&] {
    while (true) {
      const size_t i = next.fetch_add(1);
      if (i >= work.size()) return;
      {
        std::unique_lock<std::mutex> guard(lock);
        changed.wait(guard, [&] { return abort || i < consumed + window; });
        if (abort) return;
      }
      Decoded d;
      try {
        d = decode_item(layout, work[i]);
      } catch (...) {  // not an image problem (e.g. out of memory): stop everything
        std::lock_guard<std::mutex> guard(lock);
        if (!failure) failure = std::current_exception();
        abort = true;
        changed.notify_all();
        return;
      }
      std::lock_guard<std::mutex> guard(lock);
      ring[i % window] = std::move(d);
      changed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  try {
    for (size_t i = 0; i < work.size(); ++i) {
      Decoded d;
      {
        std::unique_lock<std::mutex> guard(lock);
        changed.wait(guard, [&] { return abort || ring[i % window].has_value(); });
        if (abort) break;
        d = std::move(*ring[i % window]);
        ring[i % window].reset();
        ++consumed;
        changed.notify_all();
      }
      consume(d);
    }
  } catch (...) {
    std::lock_guard<std::mutex> guard(lock);
    if (!failure) failure = std::current_exception();
    abort = true;
    changed.notify_all();
  }
  {
    std::lock_guard<std::mutex> guard(lock);
    abort = true;
    changed.notify_all();
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

// Runs `step` on every rank; if it failed anywhere, every rank throws
// CollectiveError with the lowest failing rank's message.
template <typename Step>
void all_or_nothing(MPI_Comm comm, Step&& step) {
  std::string message;
  try {
    step();
  } catch (const std::exception& e) {
    message = e.what();
    if (message.empty()) message = "unknown error";
  }
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  int first = message.empty() ? INT32_MAX : rank;
  MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == INT32_MAX) return;
  int64_t n = int64_t(message.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, first, comm);
  message.resize(size_t(n));
  MPI_Bcast(message.data(), int(n), MPI_CHAR, first, comm);
  throw CollectiveError(message);
}

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

}  // namespace

PrepareReport prepare_cache(const PrepareOptions& options, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  Stopwatch clock;
  PrepareReport report;
  if (options.out.empty()) throw Error("prepare: no output cache file given");

  // Every rank lists the items itself (tables are small next to the images).
  Layout layout;
  all_or_nothing(comm, [&] { layout = load_layout(options.layout, options.layout_options); });
  const int64_t n = int64_t(layout.items.size());
  const int c = layout.channels, s = layout.size;
  report.items = n;
  report.split_method = layout.split_method;
  const std::string id = layout_identity(options.layout, options.layout_options).dump();

  // Rank 0 decides what to do with an existing file.
  int decision = kCreate;
  std::string message;
  if (rank == 0) {
    try {
      if (fs::exists(options.out)) {
        if (options.force) {
          fs::remove(options.out);
        } else {
          const CacheInfo info = read_cache_info(options.out);
          const bool same = info.options_json == id && info.items == n;
          if (!same) {
            decision = kFail;
            message = "'" + options.out + "' was prepared with other options or files (" + info.options_json +
                      ", " + std::to_string(info.items) + " items; now " + id + ", " + std::to_string(n) +
                      " items); remove it or pass --force to rebuild it";
          } else {
            decision = info.complete ? kDone : kResume;
          }
        }
      } else if (!fs::path(options.out).parent_path().empty()) {
        fs::create_directories(fs::path(options.out).parent_path());
      }
    } catch (const std::exception& e) {
      decision = kFail;
      message = e.what();
    }
  }
  MPI_Bcast(&decision, 1, MPI_INT, 0, comm);
  broadcast(message, comm);
  if (decision == kFail) throw CollectiveError(message);
  if (decision == kDone) {
    CacheInfo info;
    all_or_nothing(comm, [&] { info = read_cache_info(options.out); });
    report.already_complete = true;
    report.ok = n - info.skipped;
    report.skipped = info.skipped;
    report.split_sizes = info.split_sizes;
    report.mean = info.mean;
    report.std = info.std;
    report.split_method = info.split_method;
    if (rank == 0) spdlog::info("'{}' is already prepared ({} items); nothing to do", options.out, n);
    return report;
  }

  const bool writer = rank == 0;
  size_t source_width = 1;
  for (const auto& item : layout.items) source_width = std::max(source_width, item.source.size());
  h5::Handle file;
  // HDF5 calls below are collective: a failure shows on every rank.
  if (decision == kCreate) {
    file = h5::create_parallel(options.out, comm);
    h5::set_attribute(file, "format", kCacheFormat);
    h5::set_attribute(file, "version", kCacheVersion);
    h5::set_attribute(file, "layout", options.layout);
    h5::set_attribute(file, "options", id);
    h5::set_attribute(file, "root", options.layout_options.root);
    h5::set_attribute(file, "split_method", layout.split_method);
    h5::set_attribute(file, "size", int64_t(s));
    h5::set_attribute(file, "channels", int64_t(c));
    h5::set_attribute(file, "label_kind", layout.label_kind == LabelKind::multi ? "multi" : "single");
    h5::set_attribute(file, "num_classes", int64_t(layout.class_names.size()));
    h5::set_attribute(file, "items", n);
    h5::set_attribute(file, "complete", int64_t(0));
    const hsize_t hn = hsize_t(n), hc = hsize_t(c), hs = hsize_t(s);
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
    if (layout.label_kind == LabelKind::multi) {
      const hsize_t k = hsize_t(layout.class_names.size());
      h5::Handle targets = h5::create_dataset(file, "targets", H5T_IEEE_F32LE, {hn, k});
      std::vector<float> all;
      for (const auto& item : layout.items) {
        if (item.targets.size() != k) throw Error("prepare: an item has the wrong number of targets");
        all.insert(all.end(), item.targets.begin(), item.targets.end());
      }
      if (writer && n) h5::write_all(targets, H5T_NATIVE_FLOAT, all.data());
    } else {
      h5::Handle labels = h5::create_dataset(file, "labels", H5T_STD_I64LE, {hn});
      std::vector<int64_t> all;
      for (const auto& item : layout.items) all.push_back(item.label);
      if (writer && n) h5::write_all(labels, H5T_NATIVE_INT64, all.data());
    }
    if (writer && n) {
      const std::vector<uint8_t> zeros(size_t(n), kPending);
      h5::write_all(status, H5T_NATIVE_UINT8, zeros.data());
    }
    h5::flush(file);
    MPI_Barrier(comm);
  } else {
    file = h5::open_parallel(options.out, comm, h5::Access::read_write);
    if (rank == 0) spdlog::info("resuming the unfinished cache '{}'", options.out);
  }

  // Pending items, split into contiguous shares.
  std::vector<uint8_t> status(size_t(n), kPending);
  h5::Handle status_ds = h5::open_dataset(file, "status");
  if (decision == kResume && n) h5::read_all(status_ds, H5T_NATIVE_UINT8, status.data());
  std::vector<int64_t> pending;
  for (int64_t i = 0; i < n; ++i)
    if (status[i] == kPending) pending.push_back(i);
  const size_t p = pending.size();
  const std::vector<int64_t> mine(pending.begin() + p * rank / ranks,
                                  pending.begin() + p * (rank + 1) / ranks);
  const int threads = options.threads > 0 ? options.threads : default_threads(comm);
  if (rank == 0)
    spdlog::info("prepare {}: {} items, {} to decode on {} rank(s) x {} thread(s), {}x{}x{} into '{}'",
                 options.layout, n, p, ranks, threads, c, s, s, options.out);

  h5::Handle images = h5::open_dataset(file, "images"), errors = h5::open_dataset(file, "error"),
             sums = h5::open_dataset(file, "pixel_sum"), sqsums = h5::open_dataset(file, "pixel_sqsum");
  h5::Handle error_type = h5::string_type(kCacheErrorBytes);
  const size_t image_bytes = size_t(c) * s * s;
  const size_t max_run = std::max<size_t>(1, (8u << 20) / std::max<size_t>(1, image_bytes));  // ~8 MB writes
  int64_t run_first = -1, done = 0, skipped_here = 0;
  std::vector<uint8_t> run_pixels;
  std::vector<double> run_sum, run_sq;
  auto flush_run = [&] {
    if (run_first < 0) return;
    const hsize_t count = hsize_t(run_sum.size() / c);
    h5::write_rows(images, H5T_NATIVE_UINT8, hsize_t(run_first), count, run_pixels.data());
    h5::write_rows(sums, H5T_NATIVE_DOUBLE, hsize_t(run_first), count, run_sum.data());
    h5::write_rows(sqsums, H5T_NATIVE_DOUBLE, hsize_t(run_first), count, run_sq.data());
    const std::vector<uint8_t> ok(count, kOk);
    h5::write_rows(status_ds, H5T_NATIVE_UINT8, hsize_t(run_first), count, ok.data());  // last
    run_first = -1;
    run_pixels.clear();
    run_sum.clear();
    run_sq.clear();
  };
  ProgressLog progress("prepare " + options.layout + (ranks > 1 ? " (rank 0's share)" : ""),
                       int64_t(mine.size()), "img", options.log_interval_s);
  all_or_nothing(comm, [&] {
    decode_in_order(layout, mine, threads, [&](Decoded& d) {
      // Decoding threads may be in HDF5 too (PCam's source files).
      std::lock_guard<std::mutex> guard(hdf5_mutex());
      if (!d.error.empty()) {
        flush_run();
        const std::string text = fixed(d.error, kCacheErrorBytes);
        h5::write_rows(errors, error_type, hsize_t(d.item), 1, text.data());
        const uint8_t skipped = kSkipped;
        h5::write_rows(status_ds, H5T_NATIVE_UINT8, hsize_t(d.item), 1, &skipped);
        ++skipped_here;
      } else {
        const int64_t next = run_first < 0 ? -1 : run_first + int64_t(run_sum.size() / c);
        if (run_first >= 0 && (d.item != next || run_sum.size() / c >= max_run)) flush_run();
        if (run_first < 0) run_first = d.item;
        run_pixels.insert(run_pixels.end(), d.planes.begin(), d.planes.end());
        run_sum.insert(run_sum.end(), d.sum, d.sum + c);
        run_sq.insert(run_sq.end(), d.sqsum, d.sqsum + c);
      }
      ++done;
      if (rank == 0) progress.update(done, skipped_here ? std::to_string(skipped_here) + " skipped" : "");
    });
    flush_run();
  });

  // Collective finish: everyone sees every rank's rows after flush + barrier.
  h5::flush(file);
  MPI_Barrier(comm);
  h5::flush(file);
  int64_t processed = int64_t(mine.size());
  MPI_Allreduce(MPI_IN_PLACE, &processed, 1, MPI_INT64_T, MPI_SUM, comm);
  report.processed = processed;
  if (n) h5::read_all(status_ds, H5T_NATIVE_UINT8, status.data());
  std::vector<double> all_sum(size_t(n) * c), all_sq(size_t(n) * c);
  if (n) {
    h5::read_all(sums, H5T_NATIVE_DOUBLE, all_sum.data());
    h5::read_all(sqsums, H5T_NATIVE_DOUBLE, all_sq.data());
  }
  std::vector<std::string> skipped_list;
  for (int64_t i = 0; i < n; ++i) {
    if (status[i] == kPending)
      throw Error("prepare: item " + std::to_string(i) + " is still pending after every rank finished");
    if (status[i] == kSkipped) {
      std::string reason(kCacheErrorBytes, '\0');
      h5::read_rows(errors, error_type, hsize_t(i), 1, reason.data());
      reason.resize(strnlen(reason.data(), kCacheErrorBytes));
      skipped_list.push_back(layout.items[i].source + ": " + reason);
    }
  }
  std::array<std::vector<int64_t>, 3> splits;
  for (int k = 0; k < 3; ++k)
    for (int64_t pos : layout.splits[k])
      if (status[pos] == kOk) splits[k].push_back(pos);
  // Statistics of the train split, in ToTensor units ([0, 1]).
  std::vector<double> mean(c, 0.0), stdev(c, 0.0);
  const double pixels = double(splits[0].size()) * s * s;
  for (int ch = 0; ch < c; ++ch) {
    double sum = 0, sq = 0;
    for (int64_t pos : splits[0]) {
      sum += all_sum[size_t(pos) * c + ch];
      sq += all_sq[size_t(pos) * c + ch];
    }
    if (pixels > 0) {
      mean[ch] = sum / pixels;
      stdev[ch] = std::sqrt(std::max(0.0, sq / pixels - mean[ch] * mean[ch]));
    }
  }
  const char* names[3] = {"splits/train", "splits/val", "splits/test"};
  for (int k = 0; k < 3; ++k)
    write_vector(file, names[k], H5T_STD_I64LE, H5T_NATIVE_INT64, splits[k], writer);
  write_vector(file, "stats/mean", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, mean, writer);
  write_vector(file, "stats/std", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, stdev, writer);
  if (h5::exists(file, "skipped")) h5::unlink(file, "skipped");
  write_strings(file, "skipped", skipped_list, writer);
  h5::set_attribute(file, "skipped", int64_t(skipped_list.size()));
  h5::flush(file);
  h5::set_attribute(file, "complete", int64_t(1));
  h5::flush(file);
  file.reset();

  report.skipped = int64_t(skipped_list.size());
  report.ok = n - report.skipped;
  for (int k = 0; k < 3; ++k) report.split_sizes[k] = int64_t(splits[k].size());
  report.mean = mean;
  report.std = stdev;
  report.seconds = clock.seconds();
  if (rank == 0) {
    const size_t shown = std::min<size_t>(skipped_list.size(), 50);
    for (size_t i = 0; i < shown; ++i) spdlog::warn("skipped {}", skipped_list[i]);
    if (shown < skipped_list.size())
      spdlog::warn("... and {} more skipped items (all listed in /skipped of '{}')",
                   skipped_list.size() - shown, options.out);
    spdlog::info("prepared '{}': {} items, {} ok, {} skipped, decoded {} in {} ({:.1f} img/s)", options.out,
                 n, report.ok, report.skipped, processed, format_duration(report.seconds),
                 report.seconds > 0 ? double(processed) / report.seconds : 0.0);
  }
  return report;
}

}  // namespace featreuse::data
