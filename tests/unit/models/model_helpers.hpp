#pragma once
// Fixtures shared by the model tests.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "featreuse/models/registry.hpp"

namespace model_test {

using featreuse::models::Network;

// A registered architecture with the given options and shape.
inline std::shared_ptr<Network> make(const std::string& arch, nlohmann::json options = {}, int64_t classes = 1000,
                                     int64_t channels = 3, int64_t image_size = 224) {
  featreuse::models::ModelSpec spec;
  spec.arch = arch;
  spec.num_classes = classes;
  spec.in_channels = channels;
  spec.image_size = image_size;
  if (!options.is_null()) spec.options = options;
  return featreuse::models::registry().create(spec);
}

// Parameters (not buffers), with or without the classifier head.
inline int64_t count(Network& net, bool with_head) {
  int64_t n = 0;
  for (const auto& e : featreuse::models::state_entries(net))
    if (!e.is_buffer && (with_head || !featreuse::models::under_module(e.name, net.head_name())))
      n += e.tensor.numel();
  return n;
}

}  // namespace model_test
