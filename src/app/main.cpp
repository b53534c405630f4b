// featreuse: entry point, dispatches to a subcommand (commands.hpp).
#include <cstdio>
#include <exception>
#include <string>

#include "commands.hpp"
#include "featreuse/core/blas_kernels.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/core/tensor_heap.hpp"

namespace {

void print_usage() {
  std::printf("featreuse %s: transfer-learning studies on HPC clusters\n\n", featreuse::version());
  std::printf("usage: featreuse <command> [options]   (featreuse <command> --help for its options)\n\n");
  for (const auto& c : featreuse::app::commands()) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf("\nenvironment (docs/environment.md):\n");
  const char* variables[][2] = {
      {"FEATREUSE_CONFIGS", "configs folder when neither the job nor --configs names one"},
      {"FEATREUSE_DATA", "folder that relative dataset roots, caches and split files are under"},
      {"FEATREUSE_LOG_LEVEL", "log level when a command has no --log-level (default info)"},
      {"FEATREUSE_HEARTBEAT_S", "seconds between a running task's heartbeats for status (default 30)"},
      {"SLURM_CPUS_PER_TASK", "compute threads per rank when --threads is 0 (run, prepare)"},
      {"SLURM_RESTART_COUNT", "run: which requeue of a Slurm job this is, in the start log"},
      {"OPENBLAS_CORETYPE",
       "OpenBLAS's kernels; unset, featreuse replaces its fallback on a CPU it does not know"}};
  for (const auto& [name, what] : variables) std::printf("  %-22s %s\n", name, what);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    featreuse::log::init();
    featreuse::restart_with_openblas_kernels_for_this_cpu(argv);
  } catch (const featreuse::UsageError& e) {
    std::fprintf(stderr, "featreuse: error: %s\n", e.what());
    return e.exit_code();
  }
  if (argc < 2) std::fprintf(stderr, "featreuse: missing the command\n\n");
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    std::printf("featreuse %s\n", featreuse::version());
    return 0;
  }
  const std::string name = argv[1];
  featreuse::keep_freed_tensor_memory();
  for (const auto& c : featreuse::app::commands()) {
    if (name != c.name) continue;
    featreuse::app::Args args(argv + 1, argv + argc);
    try {
      return c.run(args);
    } catch (const featreuse::Error& e) {  // 2: the user's input (UserError), 1: anything else
      std::fprintf(stderr, "featreuse %s: error: %s\n", c.name, e.what());
      return e.exit_code();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "featreuse %s: internal error: %s\n", c.name, e.what());
      return featreuse::exit_codes::kInternal;
    }
  }
  std::fprintf(stderr, "featreuse: unknown command '%s'\n\n", name.c_str());
  print_usage();
  return 2;
}
