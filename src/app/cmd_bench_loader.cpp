// featreuse bench loader --cache C.h5: batches per second of the training
// loader (read, crop/resize, flips, jitter, grayscale, normalise) on a
// prepared cache, as the trainer would pull them. benchmarks/loader.sh runs it
// beside the Python (PIL + torchvision + DataLoader) pipeline.
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "compute_threads.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/data/cache.hpp"
#include "featreuse/data/loader.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

int cmd_bench_loader(const Args& args) {
  po::options_description options("featreuse bench loader --cache CACHE.h5 [options]");
  std::string cache, device = "cpu";
  int64_t batch = 64, batches = 40, warmup = 3;
  int workers = 1, threads = 1;
  bool eval = false, json = false;
  options.add_options()("help,h", "show this help")("cache", po::value(&cache), "a prepared cache")(
      "batch", po::value(&batch), "batch size (default 64)")(
      "batches", po::value(&batches), "timed batches (default 40)")("warmup", po::value(&warmup),
                                                                    "untimed batches first (default 3)")(
      "workers", po::value(&workers), "loader threads (default 1; 0: in the caller's thread)")(
      "threads", po::value(&threads), "ATen intra-op threads of the caller (default 1)")(
      "eval", po::bool_switch(&eval), "evaluation preprocessing (centre crop) instead of augmentations")(
      "device", po::value(&device), "where batches are made (cpu, cuda)")("json", po::bool_switch(&json),
                                                                          "print one JSON line");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {}, "bench loader");
  if (auto code = help_or_missing(vm, options, "bench loader", {{"--cache", !cache.empty()}})) return *code;
  if (batch <= 0 || batches <= 0 || warmup < 0)
    throw Error("bench loader: batch sizes and counts must be positive");
  set_compute_threads(std::max(1, threads));
  const data::CacheInfo info = data::read_cache_info(cache);
  data::CacheDatasetOptions o;
  o.name = "bench";
  o.reader = info.layout;
  o.cache = cache;
  auto dataset = data::open_cache_dataset(o);
  data::StreamOptions s;
  s.batch_size = batch;
  s.shuffle = true;
  s.drop_last = true;
  s.augment = !eval;
  s.workers = workers;
  s.prefetch = std::max(2, 2 * workers);
  s.device = c10::Device(device);
  s.seed = 1;
  int64_t images = 0, epoch = 0;
  data::Batch b;
  std::unique_ptr<data::BatchStream> stream;
  auto pull = [&] {  // the next batch, starting a new epoch when one ends (as a trainer does)
    if (stream && stream->next(b)) return;
    s.epoch = epoch++;
    stream = dataset->stream(data::Split::train, s);
    if (!stream->next(b)) throw Error("bench loader: the train split has fewer images than one batch");
  };
  for (int64_t k = 0; k < warmup; ++k) pull();
  Stopwatch clock;
  for (int64_t k = 0; k < batches; ++k) {
    pull();
    images += b.images.size(0);
  }
  if (b.images.is_cuda()) b.images.cpu();  // wait for the device
  const double seconds = clock.seconds();
  const double rate = seconds > 0 ? double(images) / seconds : 0.0;
  if (json) {
    std::printf(
        "{\"kind\": \"loader\", \"cache\": \"%s\", \"images\": %lld, \"seconds\": %.4f, \"img_per_s\": %.2f, "
        "\"batch\": %lld, \"workers\": %d, \"threads\": %d, \"augment\": %s, \"device\": \"%s\"}\n",
        cache.c_str(), (long long)images, seconds, rate, (long long)batch, workers, threads,
        eval ? "false" : "true", device.c_str());
  } else {
    std::printf(
        "loader %s: %lld images in %.2f s = %.1f img/s (batch %lld, %s, %d worker(s), %d ATen thread(s), "
        "%s)\n",
        cache.c_str(), (long long)images, seconds, rate, (long long)batch,
        eval ? "centre crop" : "augmentations", workers, threads, device.c_str());
  }
  return 0;
}

}  // namespace featreuse::app
