#include "weight_io.hpp"

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>

#include "featreuse/core/error.hpp"

namespace featreuse::models::detail {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(path + ": cannot open weight file");
  const std::streamoff size = f.tellg();
  if (size < 0) throw Error(path + ": cannot determine the file size");
  std::vector<uint8_t> out(static_cast<size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(out.data()), size)) throw Error(path + ": read failed");
  return out;
}

at::Tensor tensor_from_bytes(const uint8_t* bytes, c10::ScalarType dtype, const std::vector<int64_t>& shape) {
  auto t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (t.numel() > 0) std::memcpy(t.data_ptr(), bytes, t.numel() * t.element_size());
  return t;
}

int64_t checked_nbytes(const std::vector<int64_t>& shape, int64_t itemsize, uint64_t limit) {
  uint64_t n = static_cast<uint64_t>(itemsize);
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d == 0) empty = true;
  }
  if (empty) return 0;
  for (int64_t d : shape) {
    if (static_cast<uint64_t>(d) > limit || n > limit / static_cast<uint64_t>(d)) return -1;
    n *= static_cast<uint64_t>(d);
  }
  return n > limit ? -1 : static_cast<int64_t>(n);
}

void check_bool_bytes(const uint8_t* bytes, size_t n, const std::string& what) {
  for (size_t i = 0; i < n; ++i)
    if (bytes[i] > 1) throw Error(what + ": a bool value is neither 0 nor 1");
}

}  // namespace featreuse::models::detail
