#pragma once
// A small .npy reader (NumPy format versions 1-3) for `featreuse features`:
// little-endian float16/float32/float64 arrays in C order, returned as float32.
#include <ATen/core/Tensor.h>

#include <string>

namespace featreuse::app {

// Throws featreuse::Error naming the file on anything it cannot read
// (Fortran order, big-endian or integer data, truncated data).
at::Tensor read_npy(const std::string& path);

}  // namespace featreuse::app
