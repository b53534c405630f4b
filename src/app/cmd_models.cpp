// featreuse models: every registered architecture and every model config,
// with parameter counts (with and without the classifier head, 1000 classes,
// 3 input channels) and native input size.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli.hpp"
#include "commands.hpp"
#include "compute_threads.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/registry.hpp"
#include "model_args.hpp"

namespace po = boost::program_options;

namespace featreuse::app {

namespace {

struct Counts {
  int64_t total = 0, backbone = 0;
};

Counts count(models::Network& net) {
  Counts c;
  for (const auto& e : models::state_entries(net)) {
    if (e.is_buffer) continue;
    c.total += e.tensor.numel();
    if (!models::under_module(e.name, net.head_name())) c.backbone += e.tensor.numel();
  }
  return c;
}

}  // namespace

int cmd_models(const Args& args) {
  po::options_description opts("featreuse models [options]");
  std::string configs;
  bool archs_only = false;
  opts.add_options()("help,h", "show this help")(
      "configs", po::value(&configs), "configs folder (default: found from the current directory)")(
      "archs-only", po::bool_switch(&archs_only), "list registered architectures only");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), opts, {}, "models");
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  set_compute_threads(0);
  auto& registry = models::registry();
  std::printf("Registered architectures (1000 classes, 3 channels, default options):\n");
  std::printf("  %-30s %-10s %14s %10s %16s %10s  %s\n", "name", "family", "params", "", "without head", "",
              "input");
  std::map<std::string, Counts> by_arch;  // configs with default options reuse these
  for (const auto& name : registry.names()) {
    const auto& info = registry.info(name);
    models::ModelSpec spec;
    spec.arch = name;
    spec.num_classes = 1000;
    spec.image_size = info.default_image_size;
    const auto c = by_arch[name] = count(*registry.create(spec));
    std::printf("  %-30s %-10s %14lld %10s %16lld %10s  %lldx%lld\n", name.c_str(),
                models::family_name(info.family), static_cast<long long>(c.total), millions(c.total).c_str(),
                static_cast<long long>(c.backbone), millions(c.backbone).c_str(),
                static_cast<long long>(info.default_image_size),
                static_cast<long long>(info.default_image_size));
  }
  if (archs_only) return 0;
  const std::string dir = configs_dir_or_default(configs);
  std::printf("\nModel configs in %s/models:\n", dir.c_str());
  std::printf("  %-30s %-30s %16s %10s %8s  %s\n", "name", "arch", "without head", "", "gflops", "input");
  for (const auto& name : models::model_config_names(dir)) {
    const auto cfg = models::resolve_model(name, dir);
    const bool defaults = cfg.spec.options.empty() && by_arch.count(cfg.spec.arch);
    const auto c = defaults ? by_arch[cfg.spec.arch] : count(*models::build_model(cfg, 1000, 3));
    std::printf("  %-30s %-30s %16lld %10s %8.3g  %lldx%lld\n", name.c_str(), cfg.spec.arch.c_str(),
                static_cast<long long>(c.backbone), millions(c.backbone).c_str(), cfg.gflops,
                static_cast<long long>(cfg.spec.image_size), static_cast<long long>(cfg.spec.image_size));
  }
  return 0;
}

}  // namespace featreuse::app
