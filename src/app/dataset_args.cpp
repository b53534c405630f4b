#include "dataset_args.hpp"

#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/data/registry.hpp"

namespace featreuse::app {

data::Split parse_split(const std::string& name, const std::string& option) {
  if (name == "train") return data::Split::train;
  if (name == "val") return data::Split::val;
  if (name == "test") return data::Split::test;
  throw Error(option + " must be train, val or test, not '" + name + "'");
}

json named_dataset_config(const std::string& name, const std::string& configs_dir) {
  const bool is_file = name.size() > 5 && name.compare(name.size() - 5, 5, ".yaml") == 0;
  const std::string path = is_file ? name : configs_dir + "/datasets/" + name + ".yaml";
  json config = load_yaml_file(path).value;
  if (!config.contains("name")) config["name"] = name;
  return config;
}

std::unique_ptr<data::Dataset> open_named_dataset(const std::string& name, const std::string& configs_dir) {
  return data::open_dataset(named_dataset_config(name, configs_dir));
}

}  // namespace featreuse::app
