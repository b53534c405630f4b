// featreuse weights export S.h5 --cell ID [--which best|initial] --out W.safetensors|W.pth:
// a stored task's checkpoint as a weight file that torchvision/timm load
// (the networks use their parameter and buffer names), without Python.
#include <torch/csrc/jit/serialization/pickle.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>

#include "cli.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/models/weights.hpp"
#include "featreuse/store/reader.hpp"
#include "plan_store.hpp"
#include "stored_task.hpp"

namespace po = boost::program_options;

namespace featreuse::app {

namespace {

enum class WeightFormat { safetensors, torch_save };

WeightFormat format_of(const std::string& out) {
  auto ends_with = [&](const std::string& suffix) {
    return out.size() >= suffix.size() && out.compare(out.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".safetensors")) return WeightFormat::safetensors;
  if (ends_with(".pth") || ends_with(".pt")) return WeightFormat::torch_save;
  throw UsageError("--out " + out + ": name a .safetensors or .pth file");
}

// A torch.save-compatible file of a plain {name: tensor} dict (what
// model.load_state_dict takes), written by libtorch's pickler.
void write_torch_save(const std::string& path, const models::TensorList& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor);
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw Error("cannot write " + path);
}

}  // namespace

int export_weights(const std::vector<std::string>& args) {
  po::options_description opts(
      "featreuse weights export STORE --cell ID [--which best|initial] --out W.safetensors|W.pth");
  std::string path, cell_id, which = "best", out;
  opts.add_options()("help,h", "show this help")("store", po::value(&path), "the HDF5 store")(
      "cell", po::value(&cell_id), "the task id (featreuse status --all, plan)")(
      "which", po::value(&which)->default_value("best"),
      "best (best-validation weights) or initial (before training)")(
      "out", po::value(&out), ".safetensors, or .pth (torch.save format)");
  const po::variables_map vm = parse_args(args, opts, {"store"}, "weights export");
  if (auto code = help_or_missing(
          vm, opts, "weights export",
          {{"STORE (the .h5 store)", !path.empty()}, {"--cell", !cell_id.empty()}, {"--out", !out.empty()}}))
    return *code;
  const WeightFormat format = format_of(out);
  const store::CheckpointKind kind = parse_checkpoint_kind(which);

  const store::StoreReader reader = open_user_store(path);
  const store::StoredCell cell = find_task(reader, cell_id);
  const models::TensorList tensors = done_checkpoint(reader, cell, kind);
  const json config = json::parse(cell.config);
  if (format == WeightFormat::safetensors)
    models::write_safetensors(out, tensors,
                              {{"format", "pt"},
                               {"featreuse.arch", config["model"].value("arch", std::string())},
                               {"featreuse.store", path},
                               {"featreuse.cell", cell.id},
                               {"featreuse.key", cell.key},
                               {"featreuse.checkpoint", which}});
  else
    write_torch_save(out, tensors);
  std::printf("exported the %s weights of %s (%s): %zu tensors to %s\n", which.c_str(), cell.id.c_str(),
              cell.key.c_str(), tensors.size(), out.c_str());
  return 0;
}

}  // namespace featreuse::app
