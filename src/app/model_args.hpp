#pragma once
// Shared bits of the model-facing subcommands (models, weights, features).
#include <string>

#include "featreuse/models/network.hpp"

namespace featreuse::app {

// The configs/ folder: --configs if given, else find_configs_dir from the
// current directory (FEATREUSE_CONFIGS, a configs/ above it, the source tree's).
std::string configs_dir_or_default(const std::string& given);

// "23.5M" style count.
std::string millions(int64_t count);

// Rows of the classifier head's weight in `weights` as `net` would load them
// (after its adapt_weights, e.g. timm-layout Swin's head.fc -> head, and a
// "module." prefix), or -1 when the file has no head.
int64_t head_rows(const models::Network& net, const models::TensorList& weights);

// Sets torch's intra-op threads (0: all cores of this machine).
void set_torch_threads(int threads);

}  // namespace featreuse::app
