// featreuse weights: import torchvision/timm weight files into a checked
// .safetensors for one model, list a weight file's tensors, or export a
// stored task's checkpoint (cmd_weights_export.cpp).
//   featreuse weights import FILE --model NAME --out W.safetensors [--keep-head]
//   featreuse weights list FILE
//   featreuse weights export STORE --cell ID [--which best|initial] --out W.safetensors|W.pth
#include <ATen/ATen.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/models/model_config.hpp"
#include "featreuse/models/weights.hpp"
#include "model_args.hpp"

namespace po = boost::program_options;

namespace featreuse::app {

int export_weights(const std::vector<std::string>& args);  // cmd_weights_export.cpp

namespace {

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// The weight file the user named: what its reader refuses (truncated, not a
// weight file, lying about its sizes) is the user's to fix (exit code 2).
models::TensorList read_user_weights(const std::string& file) {
  try {
    return models::read_weights(file);
  } catch (const UserError&) {
    throw;
  } catch (const Error& e) {
    throw UserError(e.what());
  }
}

int import_weights(const std::vector<std::string>& args) {
  po::options_description opts("featreuse weights import FILE --model NAME --out W.safetensors [options]");
  std::string file, model, out, configs;
  bool keep_head = false;
  int64_t num_classes = 0, in_channels = 3;
  opts.add_options()("help,h", "show this help")("file", po::value(&file),
                                                 "weight file (.pth, .pt, .safetensors)")(
      "model", po::value(&model), "model config or architecture name")("out", po::value(&out),
                                                                       "output .safetensors")(
      "keep-head", po::bool_switch(&keep_head), "keep the classifier head (for inference and parity checks)")(
      "num-classes", po::value(&num_classes), "head size (default: the file's head, else 1000)")(
      "in-channels", po::value(&in_channels), "1 or 3; 1 keeps channel 0 of the first conv (default 3)")(
      "configs", po::value(&configs), "configs folder");
  const po::variables_map vm = parse_args(args, opts, {"file"}, "weights import");
  if (auto code = help_or_missing(
          vm, opts, "weights import",
          {{"FILE (the weight file)", !file.empty()}, {"--model", !model.empty()}, {"--out", !out.empty()}}))
    return *code;

  const auto cfg = models::resolve_model(model, configs_dir_or_default(configs));
  const auto weights = read_user_weights(file);
  auto net = models::build_model(cfg, num_classes > 0 ? num_classes : 1000, in_channels);
  const int64_t rows = head_rows(*net, weights);
  if (num_classes <= 0 && keep_head && rows > 0 && rows != 1000)
    net = models::build_model(cfg, rows, in_channels);

  models::LoadOptions options;
  options.keep_head = keep_head;
  options.source = file;
  const auto report = models::load_weights(*net, weights, options);
  if (report.stripped_module_prefix) spdlog::info("stripped the 'module.' prefix of every key");
  if (report.first_conv_sliced) spdlog::info("1-channel model: kept channel 0 of the first conv");
  if (!report.skipped.empty())
    spdlog::info("dropped {} head entries ({}): use --keep-head to keep them", report.skipped.size(),
                 net->head_name());

  const std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"featreuse.model", cfg.name},
      {"featreuse.arch", cfg.spec.arch},
      {"featreuse.source", std::filesystem::path(file).filename().string()},
      {"featreuse.head", keep_head ? "kept" : "dropped"},
      {"featreuse.in_channels", std::to_string(in_channels)}};
  const auto tensors = models::network_weights(*net, keep_head);
  models::write_safetensors(out, tensors, metadata);
  std::printf("imported %zu tensors of %s from %s into %s (head %s)\n", tensors.size(), cfg.name.c_str(),
              file.c_str(), out.c_str(), keep_head ? "kept" : "dropped");
  return 0;
}

int list_weights(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0] == "--help" || args[0] == "-h") {
    std::printf("usage: featreuse weights list FILE\n");
    return args.size() == 1 ? 0 : 2;
  }
  const auto weights = read_user_weights(args[0]);
  int64_t total = 0;
  for (const auto& [k, t] : weights) {
    std::printf("%-60s %-10s %s\n", k.c_str(), std::string(c10::toString(t.scalar_type())).c_str(),
                shape_str(t.sizes()).c_str());
    total += t.numel();
  }
  std::printf("%zu tensors, %lld elements\n", weights.size(), static_cast<long long>(total));
  return 0;
}

}  // namespace

int cmd_weights(const Args& args) {
  const std::string usage =
      "usage: featreuse weights import FILE --model NAME --out W.safetensors [--keep-head]\n"
      "       featreuse weights list FILE\n"
      "       featreuse weights export STORE --cell ID [--which best|initial] --out W.safetensors|W.pth\n";
  if (args.size() < 2) {
    std::fprintf(stderr, "featreuse weights: missing the action (import, list or export)\n\n%s",
                 usage.c_str());
    return 2;
  }
  if (args[1] == "--help" || args[1] == "-h") {
    std::printf("%s", usage.c_str());
    return 0;
  }
  const std::vector<std::string> rest(args.begin() + 2, args.end());
  if (args[1] == "import") return import_weights(rest);
  if (args[1] == "list") return list_weights(rest);
  if (args[1] == "export") return export_weights(rest);
  throw UsageError("weights: unknown action '" + args[1] + "'\n" + usage);
}

}  // namespace featreuse::app
