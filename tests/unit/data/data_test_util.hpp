#pragma once
// Helpers shared by the data tests: scratch folders and the Python oracles
// (Debian's /usr/bin/python3 with PIL, torchvision, h5py, pandas).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "featreuse/store/h5.hpp"

namespace data_test {

// A fresh folder under the build tree, removed when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    std::random_device rd;
    path_ = std::filesystem::path(FEATREUSE_BINARY_DIR) / "test-tmp" /
            (tag + "-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string oracle(const std::string& script) {
  return std::string(FEATREUSE_SOURCE_DIR) + "/tests/unit/data/" + script;
}

// True when /usr/bin/python3 has the given modules (the oracles skip otherwise).
inline bool python_has(const std::string& modules) {
  const std::string cmd = "/usr/bin/python3 -c 'import " + modules + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

inline int run_python(const std::string& script, const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + oracle(script) + " " + args;
  return std::system(cmd.c_str());
}

// Reads a whole HDF5 dataset as T (the memory type must match).
template <typename T>
std::vector<T> read_h5(hid_t file, const std::string& path, hid_t type,
                       std::vector<hsize_t>* shape = nullptr) {
  featreuse::h5::Handle d = featreuse::h5::open_dataset(file, path);
  const auto dims = featreuse::h5::dims(d);
  size_t n = 1;
  for (auto v : dims) n *= v;
  std::vector<T> out(n);
  featreuse::h5::read_all(d, type, out.data());
  if (shape) *shape = dims;
  return out;
}

}  // namespace data_test
