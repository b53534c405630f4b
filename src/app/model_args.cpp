#include "model_args.hpp"

#include <cstdio>

#include "featreuse/core/log.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/models/weights.hpp"

namespace featreuse::app {

std::string configs_dir_or_default(const std::string& given) {
  return given.empty() ? find_configs_dir("./featreuse") : given;
}

std::string millions(int64_t count) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(count) / 1e6);
  return buf;
}

int64_t head_rows(const models::Network& net, const models::TensorList& weights) {
  models::TensorList adapted = weights;
  for (auto& kv : adapted)
    if (kv.first.rfind("module.", 0) == 0) kv.first.erase(0, 7);
  net.adapt_weights(adapted);
  const std::string key = net.head_name() + ".weight";
  for (const auto& [name, tensor] : adapted)
    if (name == key && tensor.dim() >= 1) return tensor.size(0);
  return -1;
}

std::shared_ptr<models::Network> load_network(const models::ModelConfig& config,
                                              const std::string& weights_path, int64_t num_classes,
                                              int64_t channels) {
  const auto weights = models::read_weights(weights_path);
  auto net = models::build_model(config, num_classes > 0 ? num_classes : 1000, channels);
  const int64_t rows = head_rows(*net, weights);
  if (num_classes <= 0 && rows > 0 && rows != 1000) net = models::build_model(config, rows, channels);
  models::LoadOptions load;
  load.keep_head = rows > 0;
  load.source = weights_path;
  models::load_weights(*net, weights, load);
  if (rows <= 0) spdlog::warn("{} has no classifier head: logits come from an untrained head", weights_path);
  return net;
}

}  // namespace featreuse::app
