#pragma once
// Shared bits of the model-facing subcommands (models, weights, features).
#include <string>

#include "featreuse/models/model_config.hpp"
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

// `config` built for `channels` input channels with the weights of
// `weights_path` loaded strictly. The head has `num_classes` rows when that
// is positive, else the file's (1000 when the file has none: a fresh head,
// with a warning).
std::shared_ptr<models::Network> load_network(const models::ModelConfig& config,
                                              const std::string& weights_path, int64_t num_classes,
                                              int64_t channels);

}  // namespace featreuse::app
