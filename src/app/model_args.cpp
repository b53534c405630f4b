#include "model_args.hpp"

#include <ATen/Parallel.h>

#include <cstdio>
#include <thread>

#include "featreuse/core/paths.hpp"

namespace featreuse::app {

std::string configs_dir_or_default(const std::string& given) {
  return given.empty() ? find_configs_dir("./featreuse") : given;
}

std::string millions(int64_t count) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(count) / 1e6);
  return buf;
}

void set_torch_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
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

}  // namespace featreuse::app
