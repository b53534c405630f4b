#include "device_args.hpp"

#include "featreuse/core/error.hpp"

namespace featreuse::app {

dist::DeviceChoice device_flag(const std::string& command, const std::string& text) {
  try {
    return dist::parse_device_choice(text);
  } catch (const Error& e) {
    throw UsageError(command + " --device: " + e.what());
  }
}

c10::Device single_process_device(const std::string& command, const std::string& text) {
  return dist::rank_device(dist::Topology{}, device_flag(command, text));
}

}  // namespace featreuse::app
