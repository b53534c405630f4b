#pragma once
// 16-float vectors for the CPU kernels of this module (GCC's vector
// extensions), built for several instruction sets in one binary, and the
// few vector functions they share. Internal to src/models.
#include <algorithm>
#include <cstdint>

namespace featreuse::models::cpu {

// GCC builds the marked function (and the helpers inlined into it) for
// AVX-512, for AVX2 with FMA and for the baseline, and the loader picks the
// one the CPU runs (function multi-versioning): the binary stays portable.
// The helpers use GCC's vector types: left to itself, GCC kept the
// attention's exponential and row maximum scalar.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define FEATREUSE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FEATREUSE_CPU_CLONES
#endif

// The helpers below pass 64-byte vectors by value; they are inlined into the
// clones, so no call crosses the ABIs GCC warns about (in every file that
// includes this header).
#pragma GCC diagnostic ignored "-Wpsabi"

// 16 floats as one value (GCC's vector extensions): one AVX-512 register, two
// AVX2 ones, four SSE ones, whichever the clone is built for.
// `aligned(4)`: loads from any float.
using Floats = float __attribute__((vector_size(64), aligned(4)));
using Ints = int32_t __attribute__((vector_size(64), aligned(4)));
constexpr int64_t kLanes = 16;

[[gnu::always_inline]] inline Floats load(const float* p) {
  Floats v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store(float* p, Floats v) { __builtin_memcpy(p, &v, sizeof v); }

// e^x for x <= 0 (a softmax's shifted scores, erf's e^(-x²)), as Cephes' expf: x = n ln2 + r,
// a degree-5 polynomial in r, 2^n written into the exponent bits. Relative
// error about 1e-7. Below -87.3 (e^x under float's smallest normal) it
// clamps: such a value is < 1e-37 of e^0.
[[gnu::always_inline]] inline Floats exp_nonpositive(Floats x) {
  x = x < -87.3365f ? Floats{} - 87.3365f : x;
  const Floats shifted = x * 1.44269504f + 0.5f;
  Floats n = __builtin_convertvector(__builtin_convertvector(shifted, Ints), Floats);  // truncated
  n = n > shifted ? n - 1.0f : n;                                                      // floored
  const Floats r = x - n * 0.693359375f + n * 2.12194440e-4f;
  Floats p = Floats{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const Floats poly = p * r * r + r + 1.0f;
  const Ints two_to_n = (__builtin_convertvector(n, Ints) + 127) << 23;
  return poly * __builtin_bit_cast(Floats, two_to_n);
}

// The lane indices of a vector that starts at element `first`.
[[gnu::always_inline]] inline Ints lanes_from(int64_t first) {
  Ints lane{};
  for (int l = 0; l < kLanes; ++l) lane[l] = static_cast<int32_t>(first + l);
  return lane;
}

[[gnu::always_inline]] inline Floats max_of(Floats a, Floats b) { return a > b ? a : b; }

// Lane permutations that swap halves of 8, 4 and 2 lanes: a reduction over
// the 16 lanes in four steps (the fourth reads lanes 0 and 1).
constexpr Ints kSwap8 = {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7};
constexpr Ints kSwap4 = {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11};
constexpr Ints kSwap2 = {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};

[[gnu::always_inline]] inline float lanes_max(Floats v) {
  v = max_of(v, __builtin_shuffle(v, kSwap8));
  v = max_of(v, __builtin_shuffle(v, kSwap4));
  v = max_of(v, __builtin_shuffle(v, kSwap2));
  return std::max(v[0], v[1]);
}

[[gnu::always_inline]] inline float lanes_sum(Floats v) {
  v += __builtin_shuffle(v, kSwap8);
  v += __builtin_shuffle(v, kSwap4);
  v += __builtin_shuffle(v, kSwap2);
  return v[0] + v[1];
}

}  // namespace featreuse::models::cpu
