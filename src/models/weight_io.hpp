#pragma once
// Internals shared by the weight readers (not a public header).
#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <vector>

namespace featreuse::models::detail {

// Whole file in memory; throws featreuse::Error naming `path`.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// A new contiguous tensor of `dtype` and `shape` holding a copy of `bytes`
// (little-endian, exactly numel * itemsize bytes; the caller has checked).
at::Tensor tensor_from_bytes(const uint8_t* bytes, c10::ScalarType dtype, const std::vector<int64_t>& shape);

// Product of `shape` times `itemsize`, or -1 if a dim is negative or the
// product exceeds `limit` (so no overflow can slip through).
int64_t checked_nbytes(const std::vector<int64_t>& shape, int64_t itemsize, uint64_t limit);

// Rejects bool tensors whose bytes are not 0/1 (torch assumes they are).
void check_bool_bytes(const uint8_t* bytes, size_t n, const std::string& what);

}  // namespace featreuse::models::detail
