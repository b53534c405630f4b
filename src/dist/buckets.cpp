#include "buckets.hpp"

#include <ATen/ATen.h>

#include "featreuse/core/error.hpp"

namespace featreuse::dist {

std::vector<Bucket> plan_buckets(const std::vector<at::Tensor>& tensors, size_t bucket_elements) {
  std::vector<Bucket> buckets;
  size_t first = 0;
  while (first < tensors.size()) {
    Bucket bucket{first, first, 0};
    while (
        bucket.last < tensors.size() &&
        (bucket.last == first || size_t(bucket.elements + tensors[bucket.last].numel()) <= bucket_elements)) {
      bucket.elements += tensors[bucket.last].numel();
      ++bucket.last;
    }
    buckets.push_back(bucket);
    first = bucket.last;
  }
  return buckets;
}

void pack_bucket(const std::vector<at::Tensor>& tensors, const Bucket& bucket, const at::Tensor& flat) {
  int64_t offset = 0;
  for (size_t i = bucket.first; i < bucket.last; ++i) {
    const int64_t n = tensors[i].numel();
    flat.narrow(0, offset, n).copy_(tensors[i].detach().reshape({-1}), /*non_blocking=*/true);
    offset += n;
  }
}

void unpack_bucket(const std::vector<at::Tensor>& tensors, const Bucket& bucket, const at::Tensor& flat) {
  int64_t offset = 0;
  for (size_t i = bucket.first; i < bucket.last; ++i) {
    const int64_t n = tensors[i].numel();
    tensors[i].detach().copy_(flat.narrow(0, offset, n).view(tensors[i].sizes()), /*non_blocking=*/true);
    offset += n;
  }
}

void check_reducible(const std::vector<at::Tensor>& tensors) {
  for (const auto& t : tensors) {
    if (!t.defined()) throw Error("reducer: undefined tensor (zero-fill missing gradients first)");
    if (t.scalar_type() != at::kFloat) throw Error("reducer: only float32 tensors are reduced");
  }
}

}  // namespace featreuse::dist
