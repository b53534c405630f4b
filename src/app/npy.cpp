#include "npy.hpp"

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <regex>

#include "featreuse/core/error.hpp"

namespace featreuse::app {

at::Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw Error(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  unsigned char len[4] = {0, 0, 0, 0};
  if (major == 1) {
    if (!f.read(reinterpret_cast<char*>(len), 2)) throw Error(path + ": truncated header");
    header_len = len[0] | (len[1] << 8);
  } else if (major == 2 || major == 3) {
    if (!f.read(reinterpret_cast<char*>(len), 4)) throw Error(path + ": truncated header");
    header_len = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t(len[3]) << 24);
  } else {
    throw Error(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (header_len > (1u << 20)) throw Error(path + ": .npy header too long");
  std::string header(header_len, '\0');
  if (!f.read(header.data(), header_len)) throw Error(path + ": truncated header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'")))
    throw Error(path + ": .npy header has no descr");
  const std::string descr = m[1];
  if (!std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*(True|False)")))
    throw Error(path + ": .npy header has no fortran_order");
  if (m[1] == "True")
    throw Error(path + ": Fortran-ordered arrays are not supported (use np.ascontiguousarray)");
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    throw Error(path + ": .npy header has no shape");
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    const std::string d = it->str();
    if (d.size() > 12) throw Error(path + ": .npy dimension too large");
    shape.push_back(std::stoll(d));
  }

  at::ScalarType type;
  if (descr == "<f4")
    type = at::kFloat;
  else if (descr == "<f8")
    type = at::kDouble;
  else if (descr == "<f2")
    type = at::kHalf;
  else
    throw Error(path + ": .npy dtype '" + descr +
                "' is not supported (use little-endian float16/32/64 images, already normalised)");
  // Check the size against the file before allocating anything.
  const std::streamoff data_start = f.tellg();
  f.seekg(0, std::ios::end);
  const std::streamoff available = f.tellg() - data_start;
  f.seekg(data_start);
  const int64_t item = type == at::kDouble ? 8 : type == at::kFloat ? 4 : 2;
  int64_t expected = item;
  for (int64_t d : shape) {
    if (d != 0 && expected > available / d)
      throw Error(path + ": .npy data truncated (shape needs more bytes than the file has)");
    expected *= d;
  }
  if (expected > available) throw Error(path + ": .npy data truncated");
  auto t = at::empty(shape, at::TensorOptions().dtype(type));
  const auto nbytes = static_cast<std::streamsize>(t.numel() * t.element_size());
  if (nbytes > 0 && !f.read(static_cast<char*>(t.data_ptr()), nbytes))
    throw Error(path + ": .npy data truncated (expected " + std::to_string(nbytes) + " bytes)");
  return t.to(at::kFloat);
}

}  // namespace featreuse::app
