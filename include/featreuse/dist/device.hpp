#pragma once
// Which device a rank trains on: with GPUs, node-local rank modulo the GPUs
// this process sees (consecutive ranks of a group land on distinct GPUs);
// without, the CPU.
#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "featreuse/dist/topology.hpp"

namespace featreuse::dist {

enum class DeviceChoice { automatic, cpu, cuda };

// "auto", "cpu" or "cuda"; throws featreuse::Error naming the known ones.
DeviceChoice parse_device_choice(const std::string& text);
const char* device_choice_name(DeviceChoice choice);

// Not collective. Throws featreuse::Error when `cuda` is asked for and no GPU
// is visible (or the build has no CUDA).
c10::Device rank_device(const Topology& topology, DeviceChoice choice);

// Collective over the group: throws featreuse::Error on every rank of a
// data-parallel group two of whose ranks would train on one GPU (NCCL refuses
// that), told apart by PCI address. Nothing to check on the CPU.
void check_one_gpu_per_rank(const Topology& topology, c10::Device device);

// The GPU's PCI address ("0000:3b:00"), "" for the CPU (or a build without CUDA).
std::string gpu_address(c10::Device device);

// The first two positions holding the same address ("" never matches).
std::optional<std::pair<int, int>> ranks_sharing_a_gpu(const std::vector<std::string>& addresses);

}  // namespace featreuse::dist
