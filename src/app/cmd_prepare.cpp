// featreuse prepare DATASET --root DIR --out CACHE.h5 [layout options]: decode
// a dataset's public files once into the prepared cache training reads. Runs
// alone or under mpirun (ranks share the work; threads decode within a rank).
// DATASET is a layout name (aptos2019, cbis_ddsm, cbis_ddsm_pathology, isic2019, chexpert, pcam,
// folder, csv) or a dataset config file (configs/datasets/NAME.yaml) whose
// reader, root, cache and layout keys are used; flags override them.
#include <mpi.h>
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/data/layout.hpp"
#include "featreuse/data/prepare.hpp"
#include "featreuse/data/readers.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// Per-channel statistics, 4 decimals each.
std::string statistics_text(const std::vector<double>& v) {
  return join(v, ", ", [](double x) {
    std::ostringstream out;
    out.precision(4);
    out << std::fixed << x;
    return out.str();
  });
}

// Reads the options, resolving DATASET as a layout name or a config file.
data::PrepareOptions parse(const po::variables_map& vm, const std::string& dataset) {
  data::PrepareOptions p;
  data::LayoutOptions& o = p.layout_options;
  const bool is_file = dataset.size() > 5 && (dataset.rfind(".yaml") == dataset.size() - 5 ||
                                              dataset.rfind(".yml") == dataset.size() - 4);
  if (is_file || (!data::is_layout(dataset) && std::filesystem::is_regular_file(dataset))) {
    const ConfigDoc doc = load_yaml_file(dataset);
    if (!doc.value.contains("reader") || !doc.value["reader"].is_string())
      throw ConfigError(dataset, "reader", "a dataset config needs a 'reader'");
    p.layout = doc.value["reader"].get<std::string>();
    o = data::LayoutOptions::from_json(doc.value, "'" + dataset + "'");
    o.root = data::resolve_data_path(o.root);
    o.split_file = data::resolve_data_path(o.split_file);
    if (doc.value.contains("cache") && doc.value["cache"].is_string())
      p.out = data::resolve_data_path(doc.value["cache"].get<std::string>());
  } else {
    p.layout = dataset;
  }
  if (!data::is_layout(p.layout)) {
    const std::string known = join(data::layout_names());
    throw Error("'" + p.layout + "' is neither a dataset layout (" + known + ") nor a dataset config file");
  }
  auto take = [&](const char* flag, auto& target) {
    if (vm.count(flag)) target = vm[flag].as<std::decay_t<decltype(target)>>();
  };
  take("root", o.root);
  take("out", p.out);
  take("size", o.size);
  take("channels", o.channels);
  take("split-file", o.split_file);
  take("holdout", o.holdout);
  take("split-seed", o.split_seed);
  take("csv", o.csv);
  take("path-column", o.path_column);
  take("split-column", o.split_column);
  take("image-dir", o.image_dir);
  take("ddsm-classes", o.ddsm_classes);
  take("threads", p.threads);
  if (vm.count("label-columns")) o.label_columns = split_commas(vm["label-columns"].as<std::string>());
  if (vm["exact"].as<bool>()) o.dct_scaling = false;
  p.force = vm["force"].as<bool>();
  if (o.root.empty()) throw Error("prepare: --root (the dataset's folder) is required");
  if (p.out.empty()) throw Error("prepare: --out (the cache file to write) is required");
  return p;
}

}  // namespace

int cmd_prepare(const Args& args) {
  po::options_description options(
      "featreuse prepare DATASET --root DIR --out CACHE.h5 [options]\n"
      "  DATASET: aptos2019, cbis_ddsm, cbis_ddsm_pathology, isic2019, chexpert, pcam, folder, csv, or a "
      "dataset\n"
      "  config .yaml\n"
      "  (under mpirun the ranks share the work)");
  std::string dataset, level = "info";
  options.add_options()("help,h", "show this help")("dataset", po::value(&dataset),
                                                    "layout name or config file")(
      "root", po::value<std::string>(), "the dataset's folder (its public layout)")(
      "out", po::value<std::string>(), "the cache file to write")(
      "size", po::value<int>(), "side of the cached images (default 256; PCam keeps 96)")(
      "channels", po::value<int>(), "folder/csv: 1 (grayscale) or 3 (RGB, default)")(
      "split-file", po::value<std::string>(), "JSON with train/val/test lists (positions or file names)")(
      "holdout", po::value<double>(),
      "fraction held out for val + test (APTOS 0.3, ISIC 0.2 as the reference)")(
      "split-seed", po::value<int64_t>(), "seed of the reference's random.Random split (default 42)")(
      "exact", po::bool_switch()->default_value(false),
      "decode JPEGs at full size (bit-exact with PIL) instead of DCT-domain downscaling")(
      "csv", po::value<std::string>(), "csv: the table, relative to the root")(
      "path-column", po::value<std::string>(), "csv: column of image paths (default path)")(
      "label-columns", po::value<std::string>(),
      "csv: label column, or several 0/1 columns, comma-separated")("split-column", po::value<std::string>(),
                                                                    "csv: column with train/val/test")(
      "image-dir", po::value<std::string>(),
      "csv/cbis_ddsm_pathology: folder the image paths are relative to")(
      "ddsm-classes", po::value<int>(), "cbis_ddsm: 2 (normal/abnormal) or 3")(
      "threads", po::value<int>(),
      "decoding threads per rank (default: the cores its affinity mask allows / the node's ranks sharing "
      "them)")("force", po::bool_switch()->default_value(false), "rebuild an existing cache")(
      "log-level", po::value(&level), "trace, debug, info, warn, error, critical, off (any case)");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"dataset"}, "prepare");
  if (auto code = help_or_missing(vm, options, "prepare", {{"DATASET", !dataset.empty()}})) return *code;
  if (vm.count("log-level")) log::set_level(level);
  const data::PrepareOptions prepare = parse(vm, dataset);

  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  log::set_tag(rank, -1);
  data::PrepareReport report;
  try {
    report = data::prepare_cache(prepare, MPI_COMM_WORLD);
  } catch (const CollectiveError& e) {
    if (rank == 0) std::fprintf(stderr, "featreuse prepare: error: %s\n", e.what());
    MPI_Finalize();
    return e.exit_code();  // 2 for a dataset the user's files make unusable
  } catch (const std::exception& e) {
    // Only this rank knows: stop the job rather than leave others in a collective.
    std::fprintf(stderr, "featreuse prepare: error: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, exit_code_of(e));
  }
  if (rank == 0) {
    std::printf("cache        %s\n", prepare.out.c_str());
    std::printf("dataset      %s from %s\n", prepare.layout.c_str(), prepare.layout_options.root.c_str());
    if (report.already_complete) std::printf("status       already prepared, nothing done\n");
    std::printf("items        %lld (%lld ok, %lld skipped)\n", (long long)report.items, (long long)report.ok,
                (long long)report.skipped);
    std::printf("splits       train %lld, val %lld, test %lld (%s)\n", (long long)report.split_sizes[0],
                (long long)report.split_sizes[1], (long long)report.split_sizes[2],
                report.split_method.c_str());
    std::printf("train mean   [%s]\n", statistics_text(report.mean).c_str());
    std::printf("train std    [%s]\n", statistics_text(report.std).c_str());
    if (!report.already_complete)
      std::printf("decoded      %lld images in %.1f s (%.1f img/s)\n", (long long)report.processed,
                  report.seconds, report.seconds > 0 ? double(report.processed) / report.seconds : 0.0);
  }
  MPI_Finalize();
  return 0;
}

}  // namespace featreuse::app
