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

}  // namespace featreuse::app
