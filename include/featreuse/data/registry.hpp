#pragma once
// Dataset registry: reader name -> functions that describe (cheap: sizes and
// label layout from headers/metadata, no images) and open a dataset from its
// resolved config (configs/datasets/<name>.yaml after job overrides).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/data/dataset.hpp"

namespace featreuse::data {

struct Reader {
  std::string name;
  std::string description;
  // Sizes and label layout without loading images; throws featreuse::Error
  // naming the missing or malformed file.
  std::function<DatasetInfo(const nlohmann::json& config)> describe;
  std::function<std::unique_ptr<Dataset>(const nlohmann::json& config)> open;
};

void register_reader(Reader reader);
bool has_reader(const std::string& name);
std::vector<std::string> reader_names();

// Dispatch on config["reader"]; errors list the known readers.
DatasetInfo describe_dataset(const nlohmann::json& config);
std::unique_ptr<Dataset> open_dataset(const nlohmann::json& config);

// Defined in builtin.cpp: registers each built-in reader.
void register_builtin_readers();

}  // namespace featreuse::data
