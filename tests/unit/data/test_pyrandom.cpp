#include <gtest/gtest.h>

#include "featreuse/core/error.hpp"
#include "featreuse/data/pyrandom.hpp"

using featreuse::data::PyRandom;
using featreuse::data::python_shuffled_range;

// Test vectors from CPython (docs/reference-code.md §3).
TEST(PyRandom, FirstWordsOfSeed42) {
  PyRandom rng(42);
  EXPECT_EQ(rng.getrandbits(32), 2746317213u);
  EXPECT_EQ(rng.getrandbits(32), 478163327u);
  EXPECT_EQ(rng.getrandbits(32), 107420369u);
}

TEST(PyRandom, ShuffleMatchesTheReferenceSplits) {
  const auto aptos = python_shuffled_range(3662, 42);
  const std::vector<int64_t> aptos_head = {2791, 2171, 1708, 2071, 1406, 1968, 2162, 3028};
  EXPECT_EQ(std::vector<int64_t>(aptos.begin(), aptos.begin() + 8), aptos_head);
  const auto isic = python_shuffled_range(25331, 42);
  const std::vector<int64_t> isic_head = {19993, 22352, 7, 6495, 15314, 17088, 13374, 12986};
  EXPECT_EQ(std::vector<int64_t>(isic.begin(), isic.begin() + 8), isic_head);
}

TEST(PyRandom, RandomAndLargeSeeds) {
  // python3 -c "import random; r=random.Random(42); print(repr(r.random()))"
  PyRandom rng(42);
  EXPECT_DOUBLE_EQ(rng.random(), 0.6394267984578837);
  // Seeds wider than 32 bits use two key words:
  // python3 -c "import random; print(random.Random(2**40+5).getrandbits(32))"
  PyRandom wide((uint64_t(1) << 40) + 5);
  EXPECT_EQ(wide.getrandbits(32), 2166296868u);
  EXPECT_THROW(rng.randbelow(0), featreuse::Error);
}
