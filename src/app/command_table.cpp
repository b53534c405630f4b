// The subcommand table. Each command lives in its own cmd_<name>.cpp.
#include "commands.hpp"

namespace featreuse::app {

int cmd_plan(const Args& args);
int cmd_run(const Args& args);
int cmd_status(const Args& args);
int cmd_report(const Args& args);
int cmd_models(const Args& args);
int cmd_weights(const Args& args);
int cmd_features(const Args& args);
int cmd_fid(const Args& args);
int cmd_prepare(const Args& args);
int cmd_synth(const Args& args);
int cmd_bench(const Args& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"plan", "list a job's tasks and the order groups would take them (dry run)", cmd_plan},
      {"run", "run a job's grid under MPI into one HDF5 store", cmd_run},
      {"status", "show done/running/failed/pending tasks of a store", cmd_status},
      {"report", "results of a store: mean ± std over seeds per cell group", cmd_report},
      {"models", "list registered models and model configs with parameter counts", cmd_models},
      {"weights", "import a .pth/.safetensors weight file, list one, or export a stored checkpoint",
       cmd_weights},
      {"features", "write a model's logits and probe activations for an input to HDF5", cmd_features},
      {"fid", "Fréchet Inception Distance between two image sets (datasets, .npy, .npz statistics)", cmd_fid},
      {"prepare", "decode a dataset's public files once into a prepared cache (MPI-parallel)", cmd_prepare},
      {"synth", "write a small synthetic copy of a public dataset layout", cmd_synth},
      {"bench", "benchmarks: bench loader, bench knn, bench train", cmd_bench},
  };
  return table;
}

}  // namespace featreuse::app
