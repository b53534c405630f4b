#include "featreuse/core/tensor_heap.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace featreuse {

namespace {

// Allocations up to this size come from the heap and are reused; larger
// ones (a big k-NN bank) are still mapped and returned when freed.
constexpr int kMmapThresholdBytes = 256 << 20;
// Free memory at the heap's top up to this size stays with the process.
constexpr int kTrimThresholdBytes = 1 << 30;

bool user_tuned_malloc() {
  if (std::getenv("GLIBC_TUNABLES")) return true;
  for (char** variable = environ; *variable; ++variable)
    if (std::strncmp(*variable, "MALLOC_", 7) == 0) return true;
  return false;
}

}  // namespace

bool keep_freed_tensor_memory() {
  if (user_tuned_malloc()) return false;
  return mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes) == 1 &&
         mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes) == 1;
}

}  // namespace featreuse
