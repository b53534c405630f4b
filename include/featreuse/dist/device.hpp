#pragma once
// Which device a rank trains on: with GPUs, node-local rank modulo the GPUs
// this process sees (consecutive ranks of a group land on distinct GPUs);
// without, the CPU.
#include <c10/core/Device.h>

#include <string>

#include "featreuse/dist/topology.hpp"

namespace featreuse::dist {

enum class DeviceChoice { automatic, cpu, cuda };

// "auto", "cpu" or "cuda"; throws featreuse::Error naming the known ones.
DeviceChoice parse_device_choice(const std::string& text);
const char* device_choice_name(DeviceChoice choice);

// Not collective. Throws featreuse::Error when `cuda` is asked for and no GPU
// is visible (or the build has no CUDA), and when a data-parallel group on
// GPUs would put two of its ranks on one GPU (NCCL refuses that).
c10::Device rank_device(const Topology& topology, DeviceChoice choice);

}  // namespace featreuse::dist
