#pragma once
// Shared bits of the subcommands that read a dataset named on the command
// line (features, fid).
#include <memory>
#include <string>

#include "featreuse/data/dataset.hpp"

namespace featreuse::app {

// "train", "val" or "test"; anything else is an error naming `option`.
data::Split parse_split(const std::string& name, const std::string& option = "--split");

// A dataset by config name (configs/datasets/<name>.yaml) or .yaml path.
std::unique_ptr<data::Dataset> open_named_dataset(const std::string& name, const std::string& configs_dir);

}  // namespace featreuse::app
