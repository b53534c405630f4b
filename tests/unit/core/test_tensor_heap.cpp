// keep_freed_tensor_memory against glibc's own accounting (mallinfo2): a
// block the size of a ResNet-50 activation comes from the heap, not from a
// mapping of its own, and stays with the process once freed.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>

#include "featreuse/core/tensor_heap.hpp"

namespace {
constexpr size_t kActivationBytes = 64 << 20;
}

// AddressSanitizer replaces glibc's allocator, whose accounting these read.
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN() GTEST_SKIP() << "ASan's allocator is not glibc's"
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

TEST(TensorHeap, AFreedActivationSizedBlockStaysInTheHeap) {
  SKIP_UNDER_ASAN();
  unsetenv("GLIBC_TUNABLES");
  ASSERT_TRUE(featreuse::keep_freed_tensor_memory());
  const auto before = mallinfo2();
  void* block = std::malloc(kActivationBytes);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(mallinfo2().hblks, before.hblks) << "the block was mapped on its own";
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, kActivationBytes) << "the freed block left the heap";
}

TEST(TensorHeap, AtGlibcsDefaultThresholdSuchABlockIsMappedAndReturned) {
  SKIP_UNDER_ASAN();
  ASSERT_EQ(mallopt(M_MMAP_THRESHOLD, 128 << 10), 1);  // glibc's default
  const auto before = mallinfo2();
  // Twice the size: larger than anything the other tests left in the heap.
  void* block = std::malloc(2 * kActivationBytes);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(mallinfo2().hblks, before.hblks + 1);
  std::free(block);
  EXPECT_EQ(mallinfo2().hblks, before.hblks);
}

TEST(TensorHeap, TheUsersOwnMallocSettingsAreLeftAlone) {
  setenv("MALLOC_ARENA_MAX", "2", 1);
  EXPECT_FALSE(featreuse::keep_freed_tensor_memory());
  unsetenv("MALLOC_ARENA_MAX");
  setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0", 1);
  EXPECT_FALSE(featreuse::keep_freed_tensor_memory());
  unsetenv("GLIBC_TUNABLES");
}
