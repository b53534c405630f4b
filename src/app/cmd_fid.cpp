// featreuse fid: the Fréchet Inception Distance between two image sets, as
// pytorch-fid computes it (analysis/fid.hpp), or one set's statistics saved
// for reuse in pytorch-fid's .npz format.
//   featreuse fid A B --weights pt_inception-2015-12-05-6726825d.pth [options]
//   featreuse fid --save-stats A OUT.npz --weights W [options]
//   featreuse fid REF DATASET --weights W --store S.h5   (also keeps the value in S.h5)
// A and B are each a dataset (config name or .yaml: one split as the models
// see it for evaluation, brought back to [0, 1]), an .npy of images in
// [0, 1] ([N, C, H, W]), or an .npz holding `mu` and `sigma`.
#include <ATen/ATen.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli.hpp"
#include "commands.hpp"
#include "compute_threads.hpp"
#include "dataset_args.hpp"
#include "device_args.hpp"
#include "featreuse/analysis/fid.hpp"
#include "featreuse/analysis/frechet.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/weights.hpp"
#include "featreuse/store/fid_record.hpp"
#include "model_args.hpp"
#include "npy.hpp"

namespace po = boost::program_options;

namespace featreuse::app {

namespace {

struct FidOptions {
  std::string weights, model = "inception_v3_fid", configs, split = "train";
  int64_t max_images = 0, batch_size = 50;
  c10::Device device{c10::kCPU};
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

analysis::FeatureStats read_stats(const std::string& path) {
  analysis::FeatureStats stats;
  for (auto& [name, array] : read_npz(path)) {
    if (name == "mu") stats.mu = array.to(at::kDouble).flatten();
    if (name == "sigma") stats.sigma = array.to(at::kDouble);
  }
  if (!stats.mu.defined() || !stats.sigma.defined())
    throw Error(path +
                ": an FID statistics file needs arrays 'mu' and 'sigma' (as pytorch-fid --save-stats "
                "writes them)");
  const int64_t d = stats.mu.numel();
  if (stats.sigma.sizes() != at::IntArrayRef{d, d})
    throw Error(path + ": 'sigma' is " + c10::str(stats.sigma.sizes()) + ", expected [" + std::to_string(d) +
                ", " + std::to_string(d) + "] for " + std::to_string(d) + " means");
  return stats;
}

// The FID network with its weights, built on first use: statistics files
// need none.
class FidNetwork {
 public:
  explicit FidNetwork(const FidOptions& options) : options_(options) {}
  models::Network& get() {
    if (net_) return *net_;
    if (options_.weights.empty())
      throw Error(
          "fid: --weights is required to compute statistics of images (pytorch-fid's "
          "pt_inception-2015-12-05-6726825d.pth, or a .safetensors from `weights import`)");
    const auto config = models::resolve_model(options_.model, configs_dir_or_default(options_.configs));
    net_ = load_network(config, options_.weights, /*num_classes=*/0, /*channels=*/3);
    net_->to(options_.device);
    net_->eval();
    return *net_;
  }

 private:
  const FidOptions& options_;
  std::shared_ptr<models::Network> net_;
};

int64_t capped(int64_t available, int64_t max_images) {
  return max_images > 0 ? std::min(available, max_images) : available;
}

// The first `count` rows of an .npy image array, in batches.
analysis::ImageBatches array_batches(at::Tensor array, int64_t count, int64_t batch) {
  auto next_row = std::make_shared<int64_t>(0);
  return [array, count, batch, next_row](at::Tensor& images) {
    if (*next_row >= count) return false;
    images = array.narrow(0, *next_row, std::min(batch, count - *next_row));
    *next_row += images.size(0);
    return true;
  };
}

// A dataset split's evaluation batches with the normalisation undone, so
// the pixels are in [0, 1] as pytorch-fid reads image files.
analysis::ImageBatches dataset_batches(const data::Dataset& dataset, data::Split split, int64_t count,
                                       int64_t batch) {
  const auto& info = dataset.info();
  if (info.mean.size() != size_t(info.channels) || info.stddev.size() != size_t(info.channels))
    throw Error("fid: dataset " + info.name + " does not say how its images were normalised (mean, std)");
  const at::Tensor mean = at::tensor(info.mean, at::kFloat).view({1, -1, 1, 1});
  const at::Tensor stddev = at::tensor(info.stddev, at::kFloat).view({1, -1, 1, 1});
  std::vector<int64_t> subset;
  if (count < dataset.size(split))
    for (int64_t i = 0; i < count; ++i) subset.push_back(i);
  std::shared_ptr<data::BatchStream> stream = dataset.evaluation_stream(split, batch, subset);
  return [stream, mean, stddev](at::Tensor& images) {
    data::Batch b;
    if (!stream->next(b)) return false;
    images = (b.images * stddev + mean).clamp_(0, 1);
    return true;
  };
}

analysis::FeatureStats statistics_of(const std::string& input, const FidOptions& options,
                                     FidNetwork& network) {
  if (ends_with(input, ".npz")) return read_stats(input);
  if (ends_with(input, ".npy")) {
    at::Tensor array = read_npy(input);
    if (array.dim() == 3) array = array.unsqueeze(1);
    if (array.dim() != 4) throw Error(input + ": expected [N, C, H, W] images in [0, 1]");
    const int64_t count = capped(array.size(0), options.max_images);
    return analysis::fid_statistics(network.get(), array_batches(array, count, options.batch_size), count,
                                    "FID " + input);
  }
  const auto dataset = open_named_dataset(input, configs_dir_or_default(options.configs));
  const data::Split split = parse_split(options.split);
  const int64_t count = capped(dataset->size(split), options.max_images);
  if (count < 2)
    throw Error("fid: dataset " + input + " has " + std::to_string(count) + " images in split " +
                options.split + "; statistics need at least 2");
  return analysis::fid_statistics(network.get(), dataset_batches(*dataset, split, count, options.batch_size),
                                  count, "FID " + input + " " + options.split);
}

void write_stats(const std::string& path, const analysis::FeatureStats& stats) {
  write_npz(path, {{"mu", stats.mu}, {"sigma", stats.sigma}});
}

bool is_dataset(const std::string& input) { return !ends_with(input, ".npz") && !ends_with(input, ".npy"); }

// The name the results table's dataset axis gives `input`: a config name as
// it is, a .yaml path by its file's stem.
std::string dataset_axis_name(const std::string& input) {
  return ends_with(input, ".yaml") ? std::filesystem::path(input).stem().string() : input;
}

// Keeps the FID of `dataset` to `reference` in the store (Table 1's header).
void store_fid(store::FidWriter& writer, const std::string& reference, const std::string& dataset,
               const analysis::FeatureStats& ref_stats, const analysis::FeatureStats& data_stats,
               double value, const FidOptions& options) {
  store::FidEntry entry;
  entry.dataset = dataset_axis_name(dataset);
  entry.split = options.split;
  entry.reference = reference;
  entry.value = value;
  entry.images = data_stats.count;
  entry.reference_images = ref_stats.count;
  entry.weights = options.weights;
  writer.write(entry);
  std::printf("kept in the store under /fid/%s\n", store::fid_entry_name(entry).c_str());
}

}  // namespace

int cmd_fid(const Args& args) {
  po::options_description opts(
      "featreuse fid A B --weights W [options]   |   featreuse fid --save-stats A OUT.npz --weights W\n"
      "A, B: a dataset (config name or .yaml), an .npy of images in [0, 1] ([N, C, H, W]), or an .npz with "
      "mu and sigma");
  FidOptions options;
  std::string store_path;
  std::vector<std::string> inputs;
  bool save_stats = false;
  int threads = 0;
  std::string device = "auto";
  opts.add_options()("help,h", "show this help")(
      "inputs", po::value(&inputs)->multitoken(),
      "the two image sets (or, with --save-stats, one and the .npz)")(
      "save-stats", po::bool_switch(&save_stats), "write the statistics of A to OUT.npz instead")(
      "weights", po::value(&options.weights), "FID Inception weights (pt_inception-2015-12-05-6726825d.pth)")(
      "model", po::value(&options.model),
      "FID network: architecture or model config (default inception_v3_fid)")(
      "split", po::value(&options.split), "for datasets: train, val or test (default train)")(
      "max-images", po::value(&options.max_images), "use the first N images of each set (default: all)")(
      "batch-size", po::value(&options.batch_size), "images per forward (default 50, as pytorch-fid)")(
      "threads", po::value(&threads), "torch threads (default: all cores)")(
      "device", po::value(&device), "auto (a GPU when one is visible; the default), cpu or cuda")(
      "configs", po::value(&options.configs), "configs folder")(
      "store", po::value(&store_path),
      "also keep the FID in this study store, for the report's Table 1 (B must be a dataset)");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), opts, {"inputs", "inputs"}, "fid");
  if (auto code = help_or_missing(vm, opts, "fid", {{"the image sets", !inputs.empty()}})) return *code;
  if (inputs.size() != 2)
    throw UsageError(std::string("fid: ") +
                     (save_stats ? "--save-stats needs the image set and the output .npz"
                                 : "needs two image sets (or .npz statistics)") +
                     ", got " + std::to_string(inputs.size()) + " (see --help)");
  if (options.batch_size < 1) throw UsageError("fid: --batch-size must be positive");
  if (options.max_images < 0) throw UsageError("fid: --max-images must not be negative");
  options.device = single_process_device("fid", device);
  if (!store_path.empty() && (save_stats || !is_dataset(inputs[1])))
    throw UsageError(
        "fid: --store keeps the FID of a dataset: give the reference first and the dataset "
        "second (not '" +
        inputs[1] + "')" + (save_stats ? ", without --save-stats" : ""));
  if (!store_path.empty() && !std::filesystem::exists(store_path))
    throw Error("fid: no store '" + store_path + "' (run the job first: the FID is kept beside its cells)");
  std::optional<store::FidWriter> writer;
  if (!store_path.empty()) writer.emplace(store_path);
  set_compute_threads(threads);
  FidNetwork network(options);

  if (save_stats) {
    if (!ends_with(inputs[1], ".npz"))
      throw Error("fid: --save-stats writes an .npz, not '" + inputs[1] + "'");
    const auto stats = statistics_of(inputs[0], options, network);
    write_stats(inputs[1], stats);
    std::printf("wrote FID statistics of %s (%lld images, %lld features) to %s\n", inputs[0].c_str(),
                (long long)stats.count, (long long)stats.mu.numel(), inputs[1].c_str());
    return 0;
  }
  const auto a = statistics_of(inputs[0], options, network);
  const auto b = statistics_of(inputs[1], options, network);
  const double fid = analysis::frechet_distance(a.mu, a.sigma, b.mu, b.sigma);
  std::printf("FID: %.9f\n", fid);
  if (writer) store_fid(*writer, inputs[0], inputs[1], a, b, fid, options);
  return 0;
}

}  // namespace featreuse::app
