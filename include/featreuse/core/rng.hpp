#pragma once
// Seeded random streams: every random choice in a cell derives its seed from
// the cell seed and a stream name, so runs are reproducible and streams independent.
#include <cstdint>
#include <string>

namespace featreuse {

// A 64-bit seed for the stream `name` (and optional index, e.g. the epoch)
// of a cell seeded with `seed`. Stable across platforms (SplitMix64 over FNV-1a).
uint64_t derive_seed(uint64_t seed, const std::string& name, uint64_t index = 0);

}  // namespace featreuse

#include <vector>

namespace featreuse {

// 0..n-1 in a random order drawn from `seed` (Fisher-Yates over std::mt19937_64
// with unbiased bounded draws): the same on every platform and library version.
std::vector<int64_t> shuffled_range(int64_t n, uint64_t seed);

}  // namespace featreuse
