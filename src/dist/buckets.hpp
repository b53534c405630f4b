#pragma once
// The fixed bucket layout both reducer backends share: consecutive tensors in
// the caller's (parameter) order, at most `bucket_elements` per bucket unless
// one tensor alone is larger. The same list gives the same layout on every
// rank and every step, so the ranks' collectives always match.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <vector>

namespace featreuse::dist {

struct Bucket {
  size_t first = 0, last = 0;  // tensors [first, last)
  int64_t elements = 0;
};

std::vector<Bucket> plan_buckets(const std::vector<at::Tensor>& tensors, size_t bucket_elements);

// Copies the bucket's tensors, flattened, into the front of `flat` (same
// device and dtype as the tensors), and back.
void pack_bucket(const std::vector<at::Tensor>& tensors, const Bucket& bucket, const at::Tensor& flat);
void unpack_bucket(const std::vector<at::Tensor>& tensors, const Bucket& bucket, const at::Tensor& flat);

// Every rank must pass the same layout of defined float32 tensors.
void check_reducible(const std::vector<at::Tensor>& tensors);

}  // namespace featreuse::dist
