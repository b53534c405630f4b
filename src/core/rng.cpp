#include "featreuse/core/rng.hpp"

namespace featreuse {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t derive_seed(uint64_t seed, const std::string& name, uint64_t index) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the stream name
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return splitmix64(splitmix64(seed ^ h) ^ index);
}

}  // namespace featreuse

#include <random>

namespace featreuse {

std::vector<int64_t> shuffled_range(int64_t n, uint64_t seed) {
  std::vector<int64_t> out(n > 0 ? n : 0);
  for (int64_t i = 0; i < n; ++i) out[i] = i;
  std::mt19937_64 engine(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    // Rejection sampling: uniform in [0, i] without modulo bias.
    const uint64_t bound = uint64_t(i) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = engine();
    while (r >= limit);
    std::swap(out[i], out[r % bound]);
  }
  return out;
}

}  // namespace featreuse
