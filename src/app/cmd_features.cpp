// featreuse features: run a model in eval mode on images and write its logits
// and chosen probe activations to an HDF5 file. The images are an .npy array,
// or a split of a dataset (its config name or file; eval transforms).
//   featreuse features --model NAME --weights W --input X.npy --probes P... --out F.h5
//   featreuse features --model NAME --weights W --data DATASET --split test --probes P... --out F.h5
//   featreuse features --store S.h5 --cell ID [--which best|initial] [--split test] --probes P... --out F.h5
// A stored task brings its network, weights and (unless --input/--data) dataset.
// F.h5 holds /logits [N, classes] and /probes/<probe> [N, ...] (float32),
// /probe_names, /labels for --data, and attributes model, arch, weights,
// input, pool, device; each probe's dataset says how it was pooled (attribute pooled).
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli.hpp"
#include "commands.hpp"
#include "compute_threads.hpp"
#include "dataset_args.hpp"
#include "device_args.hpp"
#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/data/registry.hpp"
#include "featreuse/grid/plan.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/probe_pooling.hpp"
#include "featreuse/models/weights.hpp"
#include "featreuse/store/h5.hpp"
#include "featreuse/store/reader.hpp"
#include "model_args.hpp"
#include "npy.hpp"
#include "stored_task.hpp"
#include "study.hpp"

namespace po = boost::program_options;

namespace featreuse::app {

namespace {

// The images to run, in batches: an .npy array or a dataset split.
struct Images {
  int64_t n = 0, channels = 0;
  std::string description;
  std::unique_ptr<data::Dataset> dataset;  // --data
  std::unique_ptr<data::BatchStream> stream;
  at::Tensor array;  // --input
  int64_t next_row = 0;
  // The next batch of at most `batch` images (and labels from a dataset); false at the end.
  bool next(int64_t batch, at::Tensor& images, at::Tensor& labels) {
    if (stream) {
      data::Batch b;
      if (!stream->next(b)) return false;
      images = b.images;
      labels = b.labels;
      return true;
    }
    if (next_row >= n) return false;
    images = array.narrow(0, next_row, std::min(batch, n - next_row));
    next_row += images.size(0);
    return true;
  }
};

Images from_npy(const std::string& input) {
  Images out;
  out.array = read_npy(input);
  if (out.array.dim() == 3) out.array = out.array.unsqueeze(1);
  if (out.array.dim() != 4)
    throw Error(input + ": expected an [N, C, H, W] array, got " + std::to_string(out.array.dim()) + " dims");
  out.n = out.array.size(0);
  out.channels = out.array.size(1);
  out.description = input;
  if (out.n == 0) throw Error(input + ": holds no images");
  return out;
}

// A split of the dataset `config` describes (`name` for messages).
Images from_dataset_config(const json& config, const std::string& name, const std::string& split_name,
                           int64_t batch) {
  const data::Split split = parse_split(split_name);
  Images out;
  out.dataset = data::open_dataset(config);
  data::StreamOptions options;
  options.batch_size = batch;
  out.stream = out.dataset->stream(split, options);
  out.n = out.dataset->size(split);
  out.channels = out.dataset->info().channels;
  out.description = "dataset " + name + " split " + split_name;
  if (out.n == 0) throw Error(out.description + " holds no images");
  return out;
}

Images from_dataset(const std::string& name, const std::string& split_name, const std::string& configs,
                    int64_t batch) {
  return from_dataset_config(named_dataset_config(name, configs), name, split_name, batch);
}

// The network to run with its weights loaded, and what to call it in the output.
struct LoadedModel {
  std::shared_ptr<models::Network> net;
  std::string name, arch, weights;
};

// --model and --weights: the head follows the file (or --num-classes).
LoadedModel from_weight_file(const std::string& model, const std::string& weights_path,
                             const std::string& configs, int64_t num_classes, int64_t channels) {
  const auto cfg = models::resolve_model(model, configs);
  return {load_network(cfg, weights_path, num_classes, channels), cfg.name, cfg.spec.arch, weights_path};
}

// --store and --cell: the task's network as it was trained, with a checkpoint's weights.
LoadedModel from_store(const store::StoreReader& reader, const store::StoredCell& task,
                       store::CheckpointKind which) {
  const json config = json::parse(task.config);
  if (!config.contains("model") || !config.contains("dataset"))
    throw Error("task " + task.id + " is not a trained model (kind " + grid::task_kind_name(task.kind) + ")");
  auto net = build_network_to_fill(config, data::describe_dataset(config["dataset"]));  // loaded below
  models::LoadOptions load;
  load.keep_head = true;
  load.source = reader.path() + " " + task.id;
  models::load_weights(*net, done_checkpoint(reader, task, which), load);
  return {net, config["model"].value("name", std::string(config["model"]["arch"])), config["model"]["arch"],
          load.source + " " + store::checkpoint_name(which)};
}

// Creates /<path> sized [n, sample dims...] float32 on first use.
h5::Handle make_dataset(hid_t file, const std::string& path, int64_t n, const at::Tensor& batch) {
  std::vector<hsize_t> dims{static_cast<hsize_t>(n)};
  for (int64_t d = 1; d < batch.dim(); ++d) dims.push_back(static_cast<hsize_t>(batch.size(d)));
  return h5::create_dataset(file, path, H5T_IEEE_F32LE, dims);
}

struct FeaturesOptions {
  std::string model, weights_path, input, data_name, split = "test", out, configs, pool = "none",
                                                     device = "auto";
  std::string store_path, cell_id, which = "best";
  std::vector<std::string> probes;
  int64_t batch_size = 16, num_classes = 0;
  int threads = 0;
  bool stored() const { return !store_path.empty(); }
};

po::options_description features_options(FeaturesOptions& o) {
  po::options_description opts(
      "featreuse features (--model NAME --weights W | --store S.h5 --cell ID) (--input X.npy | --data D) "
      "--probes P... --out F.h5");
  opts.add_options()("help,h", "show this help")("model", po::value(&o.model),
                                                 "model config or architecture name")(
      "weights", po::value(&o.weights_path), "weights (.safetensors from `weights import`, or .pth)")(
      "store", po::value(&o.store_path),
      "or a study store: with --cell, a trained task's network and weights")("cell", po::value(&o.cell_id),
                                                                             "with --store: the task id")(
      "which", po::value(&o.which), "with --store: best (default) or initial weights")(
      "input", po::value(&o.input), ".npy float array [N, C, H, W] (or [N, H, W] for 1 channel), normalised")(
      "data", po::value(&o.data_name),
      "or a dataset: its config name (configs/datasets/) or .yaml file; with --store, the cell's own by "
      "default")("split", po::value(&o.split), "with --data: train, val or test (default test)")(
      "probes", po::value(&o.probes)->multitoken(),
      "probe points (module paths), or 'all'; none: logits only")("out", po::value(&o.out), "output .h5")(
      "pool", po::value(&o.pool),
      "none (raw activations), or the paper's k-NN embeddings: cls (class token), patches (mean of the patch "
      "tokens) or concat (both); CNN maps and tokens without a class token give their mean for any of them")(
      "batch-size", po::value(&o.batch_size), "images per forward (default 16)")(
      "num-classes", po::value(&o.num_classes), "head size when the weights have no head")(
      "threads", po::value(&o.threads), "torch threads (default: all cores)")(
      "device", po::value(&o.device), "auto (a GPU when one is visible; the default), cpu or cuda")(
      "configs", po::value(&o.configs), "configs folder");
  return opts;
}

// One network source (a weight file or a stored task) and one image source.
void check_sources(const FeaturesOptions& o) {
  if (o.stored() && (!o.model.empty() || !o.weights_path.empty()))
    throw UsageError("give --store and --cell, or --model and --weights, not both");
  if (!o.input.empty() && !o.data_name.empty()) throw UsageError("give --input or --data, not both");
  if (!o.stored() && o.input.empty() && o.data_name.empty())
    throw UsageError("missing --input or --data (see featreuse features --help)");
}

std::vector<Required> required_options(const FeaturesOptions& o) {
  if (o.stored()) return {{"--cell", !o.cell_id.empty()}, {"--out", !o.out.empty()}};
  return {{"--model (or --store)", !o.model.empty()},
          {"--weights", !o.weights_path.empty()},
          {"--out", !o.out.empty()}};
}

// The images asked for: an .npy array, a dataset's split, or the stored task's own dataset.
Images images_of(const FeaturesOptions& o, const std::optional<store::StoredCell>& task) {
  if (!o.input.empty()) return from_npy(o.input);
  if (!o.data_name.empty())
    return from_dataset(o.data_name, o.split, configs_dir_or_default(o.configs), o.batch_size);
  return from_dataset_config(json::parse(task->config)["dataset"], "of task " + task->id, o.split,
                             o.batch_size);
}

// Runs `net` over the images batch by batch, writing /logits, /probes/<p>
// (pooled as asked) and /labels into `file`; returns the number of classes.
int64_t write_activations(h5::Handle& file, models::Network& net, Images& images,
                          const std::vector<std::string>& probes, models::Pooling pooling, int64_t batch_size,
                          c10::Device on) {
  at::NoGradGuard no_grad;
  h5::create_group(file, "probes");
  h5::Handle logits_ds, labels_ds;
  std::map<std::string, h5::Handle> probe_ds;
  int64_t classes = 0;
  at::Tensor batch, labels;
  for (int64_t first = 0; images.next(batch_size, batch, labels); first += batch.size(0)) {
    const int64_t count = batch.size(0);
    auto result = net.forward_probed(batch.to(on), probes);
    auto write = [&](h5::Handle& ds, const std::string& path, at::Tensor t, const std::string& pooled) {
      t = t.to(at::kCPU, at::kFloat).contiguous();
      if (!ds.valid()) {
        ds = make_dataset(file, path, images.n, t);
        if (!pooled.empty()) h5::set_attribute(ds, "pooled", pooled);
      }
      h5::write_rows(ds, H5T_NATIVE_FLOAT, static_cast<hsize_t>(first), static_cast<hsize_t>(count),
                     t.data_ptr<float>());
    };
    classes = result.logits.size(1);
    write(logits_ds, "logits", result.logits, "");
    for (const auto& p : probes) {
      const at::Tensor& raw = result.probes.at(p);
      const int64_t prefix = net.probe_prefix_tokens(p);
      write(probe_ds[p], "probes/" + p, models::pool_probe(raw, prefix, pooling),
            models::pooled_as(raw.dim(), prefix, pooling));
    }
    if (labels.defined()) write(labels_ds, "labels", labels, "");
  }
  return classes;
}

// Probe names in request order (a fixed-length string dataset) and what made the file.
void write_description(h5::Handle& file, const std::vector<std::string>& probes, const LoadedModel& loaded,
                       const Images& images, const std::string& pool, c10::Device on) {
  size_t width = 1;
  for (const auto& p : probes) width = std::max(width, p.size());
  std::vector<char> names(std::max<size_t>(probes.size(), 1) * width, '\0');
  for (size_t i = 0; i < probes.size(); ++i) std::copy(probes[i].begin(), probes[i].end(), &names[i * width]);
  h5::Handle str = h5::string_type(width);
  h5::Handle names_ds = h5::create_dataset(file, "probe_names", str, {static_cast<hsize_t>(probes.size())});
  if (!probes.empty()) h5::write_all(names_ds, str, names.data());
  h5::set_attribute(file, "model", loaded.name);
  h5::set_attribute(file, "arch", loaded.arch);
  h5::set_attribute(file, "weights", loaded.weights);
  h5::set_attribute(file, "input", images.description);
  h5::set_attribute(file, "pool", pool);
  h5::set_attribute(file, "device", on.str());
}

}  // namespace

int cmd_features(const Args& args) {
  FeaturesOptions o;
  const po::options_description opts = features_options(o);
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), opts, {}, "features");
  if (!vm.count("help")) check_sources(o);
  if (auto code = help_or_missing(vm, opts, "features", required_options(o))) return *code;
  const models::Pooling pooling = models::parse_pooling(o.pool);
  if (o.batch_size < 1) throw UsageError("features: --batch-size must be positive");
  const c10::Device on = single_process_device("features", o.device);
  set_compute_threads(o.threads);

  std::optional<store::StoreReader> reader;
  std::optional<store::StoredCell> task;
  if (o.stored()) {
    reader.emplace(o.store_path);
    task = find_task(*reader, o.cell_id);
  }
  Images images = images_of(o, task);
  const LoadedModel loaded =
      o.stored() ? from_store(*reader, *task, parse_checkpoint_kind(o.which))
                 : from_weight_file(o.model, o.weights_path, configs_dir_or_default(o.configs), o.num_classes,
                                    images.channels);
  models::Network& net = *loaded.net;
  std::vector<std::string> probes = o.probes;
  if (probes.size() == 1 && probes[0] == "all") probes = net.probe_points();
  models::checked_probes(net, probes);

  net.to(on);
  net.eval();
  h5::quiet_errors();
  h5::Handle file = h5::create_serial(o.out);
  const int64_t classes = write_activations(file, net, images, probes, pooling, o.batch_size, on);
  write_description(file, probes, loaded, images, o.pool, on);
  h5::flush(file);
  std::printf("wrote logits [%lld, %lld] and %zu probes for %lld images to %s\n",
              static_cast<long long>(images.n), static_cast<long long>(classes), probes.size(),
              static_cast<long long>(images.n), o.out.c_str());
  return 0;
}

}  // namespace featreuse::app
