#pragma once
// bf16 autocast of the forward pass on a CUDA device (the recipe's
// `precision: bf16`), as torch.autocast("cuda", torch.bfloat16): matmuls and
// convolutions in bf16, reductions and the loss in fp32. Nothing on a CPU.
#include <c10/core/Device.h>

namespace featreuse::train {

class AutocastScope {
 public:
  AutocastScope(bool bf16, c10::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
};

}  // namespace featreuse::train
