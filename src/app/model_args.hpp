#pragma once
// Shared bits of the model-facing subcommands (models, weights, features).
#include <string>

namespace featreuse::app {

// The configs/ folder: --configs if given, else find_configs_dir from the
// current directory (FEATREUSE_CONFIGS, a configs/ above it, the source tree's).
std::string configs_dir_or_default(const std::string& given);

// "23.5M" style count.
std::string millions(int64_t count);

// Sets torch's intra-op threads (0: all cores of this machine).
void set_torch_threads(int threads);

}  // namespace featreuse::app
