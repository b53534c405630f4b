#pragma once
// The fused CPU path of augment_batch (private to src/data).
#include <ATen/core/Tensor.h>

#include <vector>

#include "featreuse/data/augment.hpp"

namespace featreuse::data::detail {

// source: uint8 N x C x H x W, resized to resize_to first when H, W differ
// (crop boxes refer to that side); out: contiguous float N x C x size x size.
void augment_batch_cpu(const at::Tensor& source, int64_t resize_to, const std::vector<SampleAugment>& params,
                       int64_t size, const std::vector<float>& mean, const std::vector<float>& std,
                       at::Tensor& out);

}  // namespace featreuse::data::detail
