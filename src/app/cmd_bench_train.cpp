// featreuse bench train: images/s of the whole training step as `run` takes
// it (the trainer's loop over an in-memory batch stream: normalisation,
// forward, loss, backward, gradient clip, optimiser step, schedule), on
// random images, after a warm-up run; with --dataset, on that dataset's
// training split through its loader and augmentations (loader + step, the
// whole pipeline of `run`). benchmarks/train.sh runs the same
// models through PyTorch on the same machine and prints the ratio. Under
// `mpirun -np N` the N ranks train as one data-parallel group (the global
// batch stays --batch), or with --ranks-per-task G as N/G groups side by
// side (the rate printed is their sum), as `run --ranks-per-task G` does,
// averaging their gradients as --allreduce and --bucket-mb say.
// with --device cuda: on the rank's GPU (NCCL for a group), --amp: bf16 autocast.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <mpi.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "compute_threads.hpp"
#include "dataset_args.hpp"
#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/data/memory_dataset.hpp"
#include "featreuse/dist/device.hpp"
#include "featreuse/dist/topology.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/train/trainer.hpp"
#include "model_args.hpp"
#include "reducer_args.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

dist::DeviceChoice parse_bench_device(const std::string& text) {
  const dist::DeviceChoice choice = dist::parse_device_choice(text);
  if (choice == dist::DeviceChoice::automatic) throw Error("bench train: --device is cpu or cuda");
  return choice;
}

struct BenchTrainOptions {
  std::string model, recipe = "default", configs;
  std::string dataset;  // "": random images in memory (the step alone)
  int64_t batch = 64, size = 0, steps = 20, warmup = 3, classes = 10, channels = 3;
  int threads = 0;
  bool json_line = false;
  std::string device = "cpu";
  bool amp = false;            // bf16 autocast (GPUs)
  bool channels_last = false;  // the recipe's memory_format
  bool cuda_graphs = false;    // the recipe's cuda_graphs
  ReducerArgs reducer;         // a group's gradient averaging (under mpirun -np G)
  int ranks_per_task = 0;      // 0: all ranks as one group
};

// What every timed run of one rank shares.
struct BenchRank {
  const models::ModelConfig& config;
  const data::Dataset& dataset;
  dist::GradientReducer& reducer;
  c10::Device device;
  const dist::Topology& topology;
};

// Random images and labels: `train` images to train on, one batch each for
// validation and test (the trainer needs both; they are not timed).
std::unique_ptr<data::Dataset> random_dataset(const BenchTrainOptions& o, int64_t train) {
  auto split = [&](int64_t n) {
    return data::SplitData{at::randint(0, 256, {n, o.channels, o.size, o.size}, at::kByte),
                           at::randint(0, o.classes, {n}, at::kLong)};
  };
  data::DatasetInfo info;
  info.name = "random";
  info.reader = "memory";
  info.channels = o.channels;
  info.image_size = o.size;
  info.num_classes = o.classes;
  info.split_sizes = {train, o.batch, o.batch};
  std::vector<double> mean(size_t(o.channels), 0.5), stddev(size_t(o.channels), 0.25);
  info.mean = mean;
  info.stddev = stddev;
  return std::make_unique<data::InMemoryDataset>(
      info, std::array<data::SplitData, 3>{split(train), split(o.batch), split(o.batch)}, mean, stddev);
}

// The steps a graphed run takes before it replays: eager ones, then the capture.
int64_t graph_start_steps(const BenchTrainOptions& o) {
  return o.cuda_graphs ? train::kEagerStepsBeforeGraphCapture + 1 : 0;
}

// The images to train on: `images` random ones in memory, or the training
// split of --dataset, whose image size, channels and classes then hold.
std::unique_ptr<data::Dataset> bench_dataset(BenchTrainOptions& o, int64_t images) {
  if (o.dataset.empty()) return random_dataset(o, images);
  auto dataset = open_named_dataset(o.dataset, configs_dir_or_default(o.configs));
  const data::DatasetInfo& info = dataset->info();
  o.size = info.image_size;
  o.channels = info.channels;
  o.classes = info.num_classes;
  if (dataset->size(data::Split::train) < images)
    throw Error("bench train: dataset '" + o.dataset + "' has " +
                std::to_string(dataset->size(data::Split::train)) + " training images, fewer than the " +
                std::to_string(images) + " that --batch x max(--steps, --warmup) take" +
                (o.cuda_graphs
                     ? " (with --cuda-graphs, " + std::to_string(graph_start_steps(o)) + " steps more)"
                     : std::string()));
  return dataset;
}

// The configured recipe, cut to `steps` steps of one epoch that validates
// only at its end.
train::Recipe bench_recipe(const BenchTrainOptions& o, int64_t steps) {
  json recipe = load_yaml_file(configs_dir_or_default(o.configs) + "/recipes/" + o.recipe + ".yaml").value;
  recipe["batch_size"] = o.batch;
  recipe["eval_batch_size"] = o.batch;
  recipe["epochs"] = 1;
  recipe["train_size"] = o.batch * steps;
  recipe["train_fraction"] = 0.0;
  recipe["val_every"] = 1.0;
  recipe["log_every"] = steps;
  recipe["checkpoint_every_s"] = 0.0;
  recipe["plateau"] = false;
  recipe["precision"] = o.amp ? "bf16" : "fp32";
  recipe["memory_format"] = o.channels_last ? "channels_last" : "contiguous";
  recipe["cuda_graphs"] = o.cuda_graphs;
  return train::parse_recipe(recipe);
}

// Trains `steps` steps; the trainer's own throughput (evaluation excluded):
// the group's, whose global batch is --batch.
double train_images_per_s(const BenchTrainOptions& o, const BenchRank& r, int64_t steps) {
  auto net = models::build_model(r.config, o.classes, o.channels);
  net->to(r.device);
  train::TrainInputs in;
  in.label = "bench " + r.config.name;
  in.recipe = bench_recipe(o, steps);
  in.family = models::registry().info(r.config.spec.arch).family;
  in.random_init = true;
  in.progress_interval_s = 1e9;
  in.shard_rank = r.topology.group_rank;
  in.shard_count = r.topology.group_size;
  return train::train_cell(in, r.dataset, *net, r.reducer).record.images_per_s;
}

// The timed steps' rate. A graphed trainer runs eager steps and a capture
// before it replays: timed as the difference of two runs that share that
// start, so the rate is the replays' alone.
double timed_images_per_s(const BenchTrainOptions& o, const BenchRank& r) {
  if (!o.cuda_graphs || !r.device.is_cuda()) return train_images_per_s(o, r, o.steps);
  const auto seconds_of = [&](int64_t steps) {
    return double(steps * o.batch) / train_images_per_s(o, r, steps);
  };
  const int64_t start = graph_start_steps(o);
  const double before = seconds_of(start);
  const double replays = seconds_of(start + o.steps) - before;
  if (replays <= 0)
    throw Error("bench train --cuda-graphs: " + std::to_string(o.steps) +
                " replays took no measurable time beyond the eager steps and the capture; raise --steps");
  return double(o.steps * o.batch) / replays;
}

// Each group's rate, by group, on rank 0 of the world (its leader's; groups
// are consecutive ranks); empty on the other ranks.
std::vector<double> group_images_per_s(double group_rate, const dist::Topology& topology) {
  std::vector<double> every_rank(size_t(topology.world_rank == 0 ? topology.world_size : 0));
  MPI_Gather(&group_rate, 1, MPI_DOUBLE, every_rank.data(), 1, MPI_DOUBLE, 0, topology.world);
  std::vector<double> groups;
  for (size_t r = 0; r < every_rank.size(); r += size_t(topology.group_size)) groups.push_back(every_rank[r]);
  return groups;
}

po::options_description bench_train_options(BenchTrainOptions& o) {
  po::options_description options("featreuse bench train --model M [options]");
  options.add_options()("help,h", "show this help")(
      "model", po::value(&o.model), "model config or architecture")("batch", po::value(&o.batch),
                                                                    "batch size (default 64)")(
      "size", po::value(&o.size), "image side (default: the model config's image_size)")(
      "steps", po::value(&o.steps), "timed steps (default 20)")(
      "warmup", po::value(&o.warmup), "untimed steps first (default 3)")("classes", po::value(&o.classes),
                                                                         "classes (default 10)")(
      "channels", po::value(&o.channels), "input channels (default 3)")("recipe", po::value(&o.recipe),
                                                                        "recipe config (default: default)")(
      "threads", po::value(&o.threads), "torch threads (default: all cores)")(
      "json", po::bool_switch(&o.json_line), "print one JSON line")(
      "device", po::value(&o.device), "cpu (default) or cuda (this rank's GPU by node-local rank)")(
      "amp", po::bool_switch(&o.amp), "bf16 autocast (on a GPU; fp32 on the CPU)")(
      "channels-last", po::bool_switch(&o.channels_last), "NHWC weights and batches (recipe memory_format)")(
      "cuda-graphs", po::bool_switch(&o.cuda_graphs),
      "forward and backward replayed as CUDA graphs (recipe cuda_graphs; GPU only)")(
      "dataset", po::value(&o.dataset),
      "train on this dataset's training split through its loader and augmentations (a dataset config "
      "name or .yaml; its image size, channels and classes hold; its validation and test splits are "
      "evaluated once, untimed); default: random images in memory, the step alone")(
      "configs", po::value(&o.configs), "configs folder")(
      "ranks-per-task", po::value(&o.ranks_per_task),
      "under mpirun: ranks per data-parallel group, each group training on its own (default: all ranks, one "
      "group); the rate printed is the groups' sum");
  add_reducer_options(options, o.reducer);
  return options;
}

void check_bench_train_options(const po::variables_map& vm, const BenchTrainOptions& o) {
  if (o.batch < 1 || o.steps < 1 || o.warmup < 0 || o.classes < 2 || (o.channels != 1 && o.channels != 3) ||
      o.ranks_per_task < 0)
    throw Error(
        "bench train: --batch and --steps must be positive, --warmup and --ranks-per-task not negative, "
        "--classes at least 2, --channels 1 or 3");
  if (!o.dataset.empty())
    for (const std::string flag : {"size", "channels", "classes"})
      if (vm.count(flag))
        throw UsageError("bench train: --" + flag + " comes from --dataset, do not give both");
  try {
    parse_bench_device(o.device);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

// What the ranks measured, as rank 0 of the world has it.
struct BenchResult {
  int rank = 0, ranks = 1, group = 1;
  std::vector<double> group_rates;  // on rank 0
  // The groups' sum.
  double rate() const { return std::accumulate(group_rates.begin(), group_rates.end(), 0.0); }
};

// MPI around the measurement: groups of `ranks_per_task` (0: all ranks), warm-up, then the timed steps.
BenchResult measure(const BenchTrainOptions& o, const models::ModelConfig& config,
                    const data::Dataset& dataset, const dist::ReducerOptions& group_options) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  BenchResult result;
  MPI_Comm_rank(MPI_COMM_WORLD, &result.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &result.ranks);
  result.group = o.ranks_per_task > 0 ? o.ranks_per_task : result.ranks;
  try {
    dist::Topology topology = dist::make_topology(MPI_COMM_WORLD, result.group);
    const c10::Device device = dist::rank_device(topology, parse_bench_device(o.device));
    dist::check_one_gpu_per_rank(topology, device);
    auto reducer = dist::make_reducer(topology.group_comm, device, group_options);
    const BenchRank here{config, dataset, *reducer, device, topology};
    at::manual_seed(0);
    if (o.warmup > 0) train_images_per_s(o, here, o.warmup);
    result.group_rates = group_images_per_s(timed_images_per_s(o, here), topology);
    reducer.reset();
    dist::free_topology(topology);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "featreuse bench train: error: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return result;
}

void print_result(const BenchTrainOptions& o, const models::ModelConfig& config, const BenchResult& r,
                  const dist::ReducerOptions& group_options) {
  if (o.json_line) {
    nlohmann::ordered_json line = {{"model", config.name},
                                   {"dataset", o.dataset.empty() ? "random" : o.dataset},
                                   {"batch", o.batch},
                                   {"size", o.size},
                                   {"steps", o.steps},
                                   {"threads", at::get_num_threads()},
                                   {"device", o.device},
                                   {"amp", o.amp},
                                   {"channels_last", o.channels_last},
                                   {"cuda_graphs", o.cuda_graphs},
                                   {"ranks", r.ranks},
                                   {"ranks_per_task", r.group},
                                   {"allreduce", dist::gradient_sync_name(group_options.sync)},
                                   {"images_per_s", r.rate()},
                                   {"group_images_per_s", r.group_rates}};
    std::printf("%s\n", line.dump().c_str());
    return;
  }
  std::printf(
      "bench train %s on %s: batch %lld, %lldx%lld px, %lld steps, %d threads, %s%s%s%s, %d rank(s) in "
      "groups of %d: %.1f img/s (%.1f ms/step per group)\n",
      config.name.c_str(), o.dataset.empty() ? "random images" : o.dataset.c_str(), (long long)o.batch,
      (long long)o.size, (long long)o.size, (long long)o.steps, at::get_num_threads(), o.device.c_str(),
      o.amp ? " bf16" : "", o.channels_last ? " channels_last" : "", o.cuda_graphs ? " cuda_graphs" : "",
      r.ranks, r.group, r.rate(), 1000.0 * double(o.batch) * double(r.ranks / r.group) / r.rate());
}

}  // namespace

int cmd_bench_train(const Args& args) {
  BenchTrainOptions o;
  const po::options_description options = bench_train_options(o);
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"model"}, "bench train");
  if (auto code = help_or_missing(vm, options, "bench train", {{"--model", !o.model.empty()}})) return *code;
  check_bench_train_options(vm, o);
  const dist::ReducerOptions group_options = reducer_options(o.reducer);
  set_compute_threads(o.threads);
  const models::ModelConfig config = models::resolve_model(o.model, configs_dir_or_default(o.configs));
  if (o.size <= 0) o.size = config.spec.image_size;
  const auto dataset = bench_dataset(o, o.batch * std::max(o.steps + graph_start_steps(o), o.warmup));
  spdlog::set_level(spdlog::level::warn);  // the trainer's per-task lines are not the result
  const BenchResult result = measure(o, config, *dataset, group_options);
  if (result.rank == 0) print_result(o, config, result, group_options);
  return 0;
}

}  // namespace featreuse::app
