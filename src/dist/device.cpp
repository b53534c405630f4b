#include "featreuse/dist/device.hpp"

#include <torch/cuda.h>

#include "featreuse/core/enum_names.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::dist {

namespace {

const EnumNames<DeviceChoice>& choices() {
  static const EnumNames<DeviceChoice> names(
      "device",
      {{DeviceChoice::automatic, "auto"}, {DeviceChoice::cpu, "cpu"}, {DeviceChoice::cuda, "cuda"}});
  return names;
}

}  // namespace

DeviceChoice parse_device_choice(const std::string& text) { return choices().parse(text); }
const char* device_choice_name(DeviceChoice choice) { return choices().name(choice); }

c10::Device rank_device(const Topology& topology, DeviceChoice choice) {
  if (choice == DeviceChoice::cpu) return c10::Device(c10::kCPU);
  const int gpus = int(torch::cuda::device_count());  // 0 in a CPU-only build
  if (gpus == 0) {
    if (choice == DeviceChoice::cuda)
      throw Error(
          "--device cuda: no GPU is visible to this process (CUDA_VISIBLE_DEVICES, or a CPU-only build)");
    return c10::Device(c10::kCPU);
  }
  if (topology.group_size > gpus)
    throw Error("a group of " + std::to_string(topology.group_size) +
                " ranks needs as many GPUs on its node; " + std::to_string(gpus) +
                " are visible (lower --ranks-per-task, or --device cpu)");
  return c10::Device(c10::kCUDA, c10::DeviceIndex(topology.local_rank % gpus));
}

}  // namespace featreuse::dist
