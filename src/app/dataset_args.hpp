#pragma once
// Shared bits of the subcommands that read a dataset named on the command
// line (features, fid).
#include <memory>
#include <string>

#include "featreuse/core/json.hpp"
#include "featreuse/data/dataset.hpp"

namespace featreuse::app {

// "train", "val" or "test"; anything else is an error naming `option`.
data::Split parse_split(const std::string& name, const std::string& option = "--split");

// A dataset's config by name (configs/datasets/<name>.yaml) or .yaml path;
// `name` becomes its name unless the file gives one.
json named_dataset_config(const std::string& name, const std::string& configs_dir);

// The dataset of named_dataset_config.
std::unique_ptr<data::Dataset> open_named_dataset(const std::string& name, const std::string& configs_dir);

}  // namespace featreuse::app
