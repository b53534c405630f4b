#include "autocast.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace featreuse::train {

namespace {

// LibTorch 2 names the device type; 1.13 (Debian's) has the CUDA-only calls.
void enable_cuda_bf16(bool on) {
#if TORCH_VERSION_MAJOR >= 2
  if (on) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
  if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(on);
#endif
}

}  // namespace

AutocastScope::AutocastScope(bool bf16, c10::Device device) : active_(bf16 && device.is_cuda()) {
  if (active_) enable_cuda_bf16(true);
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  enable_cuda_bf16(false);
  at::autocast::clear_cache();  // the bf16 weight copies of this step
}

}  // namespace featreuse::train
