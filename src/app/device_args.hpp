#pragma once
// The --device flag of the commands that run a network: the choice it names,
// and the device of a command that runs in one process (fid, features).
#include <c10/core/Device.h>

#include <string>

#include "featreuse/dist/device.hpp"

namespace featreuse::app {

// Throws featreuse::UsageError naming the command, the flag and the choices.
dist::DeviceChoice device_flag(const std::string& command, const std::string& text);

// auto: the first visible GPU, else the CPU. Throws featreuse::Error when
// cuda is asked for and no GPU is visible.
c10::Device single_process_device(const std::string& command, const std::string& text);

}  // namespace featreuse::app
