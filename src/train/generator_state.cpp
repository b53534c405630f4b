#include "generator_state.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <mutex>

namespace featreuse::train {

std::string generator_bytes() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor state = gen.get_state();
  return std::string(reinterpret_cast<const char*>(state.data_ptr<uint8_t>()), size_t(state.numel()));
}

void set_generator(const std::string& bytes) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor state = at::empty({int64_t(bytes.size())}, at::kByte);
  std::memcpy(state.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  gen.set_state(state);
}

}  // namespace featreuse::train
