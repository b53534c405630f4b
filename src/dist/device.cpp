#include "featreuse/dist/device.hpp"

#include <torch/cuda.h>

#ifdef FEATREUSE_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <array>
#include <cstdio>

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
  return c10::Device(c10::kCUDA, c10::DeviceIndex(topology.local_rank % gpus));
}

std::string gpu_address(c10::Device device) {
#ifdef FEATREUSE_WITH_CUDA
  if (device.is_cuda()) {
    const cudaDeviceProp* properties = at::cuda::getDeviceProperties(device.index());
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%04x:%02x:%02x", properties->pciDomainID, properties->pciBusID,
                  properties->pciDeviceID);
    return text.data();
  }
#endif
  (void)device;
  return "";
}

std::optional<std::pair<int, int>> ranks_sharing_a_gpu(const std::vector<std::string>& addresses) {
  for (size_t i = 0; i < addresses.size(); ++i)
    for (size_t j = i + 1; j < addresses.size(); ++j)
      if (!addresses[i].empty() && addresses[i] == addresses[j]) return std::make_pair(int(i), int(j));
  return std::nullopt;
}

// By address, not by how many GPUs this process sees: with one GPU visible
// per rank (Slurm's --gpus-per-task=1) a group's ranks are still on distinct GPUs.
void check_one_gpu_per_rank(const Topology& topology, c10::Device device) {
  if (topology.group_size <= 1) return;
  constexpr int kWidth = 32;
  std::array<char, kWidth> mine{};
  const std::string address = gpu_address(device);
  address.copy(mine.data(), kWidth - 1);
  std::vector<char> all(size_t(kWidth * topology.group_size));
  MPI_Allgather(mine.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, topology.group_comm);
  std::vector<std::string> addresses;
  for (int r = 0; r < topology.group_size; ++r) addresses.emplace_back(all.data() + r * kWidth);
  const int first_rank = topology.world_rank - topology.group_rank;  // groups are consecutive ranks
  if (auto shared = ranks_sharing_a_gpu(addresses))
    throw Error("ranks " + std::to_string(first_rank + shared->first) + " and " +
                std::to_string(first_rank + shared->second) + " (data-parallel group " +
                std::to_string(topology.group) + ") would share the GPU at PCI address " +
                addresses[size_t(shared->first)] +
                " (NCCL needs a GPU of its own for each rank of a group): give each rank its own GPU, "
                "lower --ranks-per-task, or --device cpu");
}

}  // namespace featreuse::dist
