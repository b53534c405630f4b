#pragma once
// A port of CPython's `random.Random` (MT19937 seeded through init_by_array,
// getrandbits, _randbelow and shuffle) so that splits made by the reference
// code with `random.Random(seed).shuffle(list(range(n)))` come out identical.
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace featreuse::data {

class PyRandom {
 public:
  // Same as Python's random.Random(seed) for a non-negative integer seed.
  explicit PyRandom(uint64_t seed);

  uint32_t genrand_uint32();
  // random.getrandbits(k) for 1 <= k <= 32.
  uint32_t getrandbits(int k);
  // random._randbelow(n) (rejection sampling on bit_length(n) bits), n >= 1.
  uint64_t randbelow(uint64_t n);
  // random.random(): 53-bit float in [0, 1).
  double random();

  // random.shuffle(x), in place.
  template <typename T>
  void shuffle(std::vector<T>& x) {
    for (std::size_t i = x.size(); i-- > 1;) {
      const std::size_t j = std::size_t(randbelow(i + 1));
      std::swap(x[i], x[j]);
    }
  }

 private:
  void init_genrand(uint32_t s);
  void init_by_array(const std::vector<uint32_t>& key);

  std::array<uint32_t, 624> mt_{};
  int mti_ = 625;
};

// list(range(n)) shuffled by random.Random(seed).shuffle.
std::vector<int64_t> python_shuffled_range(int64_t n, uint64_t seed);

}  // namespace featreuse::data
