#pragma once
// NumPy's .npy (format versions 1-3) and .npz (np.savez / np.savez_compressed)
// files: little-endian float16/float32/float64 arrays in C order.
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace featreuse::app {

// An .npy file as float32 (`featreuse features --input`). Throws
// featreuse::Error naming the file on anything it cannot read (Fortran
// order, big-endian or integer data, truncated data).
at::Tensor read_npy(const std::string& path);

// The .npy bytes `bytes` (named `name` in messages) as a tensor of their own
// float type.
at::Tensor parse_npy(const std::string& bytes, const std::string& name);

// A float32 or float64 tensor as .npy (version 1) bytes.
std::string npy_bytes(const at::Tensor& tensor);

// Named arrays of an .npz file ("mu" for the member "mu.npy"), in their own
// float types.
std::vector<std::pair<std::string, at::Tensor>> read_npz(const std::string& path);

// Writes the arrays as np.savez does (stored members "<name>.npy"), through a
// temporary file renamed into place, so a failed write leaves no partial file.
void write_npz(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& arrays);

}  // namespace featreuse::app
