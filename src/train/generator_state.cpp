#include "generator_state.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cstring>
#include <mutex>

namespace featreuse::train {

namespace {

std::string state_bytes(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor state = gen.get_state();
  return std::string(reinterpret_cast<const char*>(state.data_ptr<uint8_t>()), size_t(state.numel()));
}

void set_state_bytes(at::Generator gen, const std::string& bytes) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor state = at::empty({int64_t(bytes.size())}, at::kByte);
  std::memcpy(state.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  gen.set_state(state);
}

}  // namespace

std::string generator_bytes() { return state_bytes(at::detail::getDefaultCPUGenerator()); }

void set_generator(const std::string& bytes) { set_state_bytes(at::detail::getDefaultCPUGenerator(), bytes); }

std::string device_generator_bytes(const c10::Device& device) {
  if (device.is_cpu()) return {};
  return state_bytes(at::globalContext().defaultGenerator(device));
}

void set_device_generator(const c10::Device& device, const std::string& bytes) {
  if (device.is_cpu() || bytes.empty()) return;
  set_state_bytes(at::globalContext().defaultGenerator(device), bytes);
}

}  // namespace featreuse::train
