#include "featreuse/data/readers.hpp"
#include "featreuse/data/registry.hpp"

namespace featreuse::data {

void register_builtin_readers() {
  register_fashion_mnist_reader();
  register_cache_readers();
}

}  // namespace featreuse::data
