#pragma once
// Model configs: configs/models/<name>.yaml names a registered architecture
// and its options:
//   arch: resnet            # registry name
//   options: {block: basic, layers: [1,1,1,1], widths: [16,32,64,128], stem: small}
//   gflops: 0.013           # approx. forward cost per image at image_size (scheduling only)
//   image_size: 28          # native input side
// num_classes and in_channels come from the dataset, not from here.
#include <memory>
#include <string>
#include <vector>

#include "featreuse/models/network.hpp"

namespace featreuse::models {

struct ModelConfig {
  std::string name;     // config name ("resnet_small") or registry name
  std::string file;     // YAML file it came from; empty for a bare registry name
  ModelSpec spec;       // arch, options, image_size (num_classes/in_channels defaulted)
  double gflops = 0.0;  // 0 when unknown
};

// Reads and checks one model config file (unknown keys, wrong types, an
// unregistered arch: ConfigError naming the file and key).
ModelConfig load_model_config(const std::string& path);

// `name` is a path to a .yaml file, a config in <configs_dir>/models/, or a
// registered architecture name (options empty, its default image size), tried
// in that order. Throws featreuse::Error listing the choices when none fits.
ModelConfig resolve_model(const std::string& name, const std::string& configs_dir);

// Config names (file stems) in <configs_dir>/models/, sorted.
std::vector<std::string> model_config_names(const std::string& configs_dir);

// Builds the network for `config` with the given head and input channels;
// option errors become ConfigErrors naming the config file.
std::shared_ptr<Network> build_model(const ModelConfig& config, int64_t num_classes, int64_t in_channels);

}  // namespace featreuse::models
